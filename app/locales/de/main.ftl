# Portico — Deutsch
app-name = Portico
nav-home = Übersicht
nav-setup = Einrichtung
nav-portal = Portal
nav-offload = Beschleunigung
nav-bluetooth = Bluetooth
nav-ports = Anschlüsse
nav-logout = Abmelden
nav-menu = Menü
language = Sprache
language-switch = Wechseln
skip-to-content = Zum Inhalt springen

login-title = Anmelden
login-user = Benutzername
login-password = Passwort
login-submit = Anmelden
login-show-password = Passwort zeigen
login-hide-password = Passwort verbergen
login-failed = Benutzername oder Passwort ist falsch.
login-rate-limited = Zu viele Versuche. Bitte in { $seconds ->
    [one] einer Sekunde
   *[other] { $seconds } Sekunden
} erneut versuchen.
login-expired = Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.

setup-title = Willkommen bei Portico
setup-intro = Dieser Router hat noch kein Administratorpasswort. Wählen Sie eines, um seine Einstellungen zu schützen; es ist auch das Passwort des Systembenutzers root.
setup-password = Neues Passwort
setup-password-repeat = Passwort wiederholen
setup-submit = Passwort speichern
setup-lan-only = Die Ersteinrichtung ist nur aus dem lokalen Netz (LAN) möglich.
setup-error-short = Das Passwort muss mindestens { $min } Zeichen haben.
setup-error-mismatch = Die beiden Passwörter stimmen nicht überein.
setup-error-long = Das Passwort darf höchstens { $max } Zeichen haben.
setup-error-control = Das Passwort darf keine Steuerzeichen enthalten.
setup-done = Das Administratorpasswort ist gesetzt.

home-title = Übersicht
home-version = Portico-Version
home-platform = Plattform
home-platform-dev = Entwicklung (Wurzelverzeichnis { $root })
home-platform-openwrt = OpenWrt
home-kernel = Kernel
home-hostname = Hostname
home-uptime = Portico läuft seit
home-network = Netzwerkfunktionen
home-network-ready = Verfügbar (eigener Netzwerk-Namensraum)
home-network-unavailable = Nicht verfügbar: Portico läuft im Netzwerk-Namensraum des Hosts, dessen Schnittstellen, Routen und Firewall es nie verändert.
home-loading = Wird geladen …

not-available-title = Noch nicht verfügbar
not-available-body = { $feature } ist noch nicht Teil dieser Portico-Version. Diese Seite zeigt es, sobald es so weit ist.
feature-portal = Das Captive Portal mit Gutscheinen
feature-offload = Die Übersicht der Firewall-Beschleunigung
feature-bluetooth = Die Bluetooth-LE-Gegenstellen
feature-ports = Die Erkennung der Kabelverwendung

error-not-found = Diese Seite gibt es nicht.
error-forbidden = Das dürfen Sie nicht.
error-csrf = Die Anfrage kam von einer anderen Website und wurde abgelehnt.
error-internal = In Portico ist etwas schiefgegangen. Die Einzelheiten stehen im Protokoll.
error-bad-request = Die Anfrage war unverständlich.
error-unauthorized = Bitte melden Sie sich zuerst an.
error-setup-required = Legen Sie zuerst das Administratorpasswort fest.

error-apply-pending = Eine andere Änderung wartet auf Bestätigung. Behalten oder verwerfen Sie sie zuerst.
error-nothing-pending = Keine Änderung wartet auf Bestätigung.
error-bad-token = Dieser Bestätigungslink ist (nicht mehr) gültig.
error-nothing-to-apply = Die Änderung lässt alle Einstellungen, wie sie sind.
error-invalid-edit = Diese Einstellung lässt sich so nicht ändern: { $path }.
error-config-parse = Die Datei { $file } hat einen Fehler in Zeile { $line } (Byte { $byte }): { $reason }. Portico lässt sie unverändert.
error-config-conflict = Die Datei { $file } wurde inzwischen von jemand anderem geändert. Laden Sie neu und versuchen Sie es noch einmal.
error-reload-failed = Die Dienste haben die Änderung nicht angenommen; sie wurde zurückgenommen.
error-unknown-config = Es gibt keine Konfigurationsdatei { $file }.

apply-banner-pending = Ihre Änderung ist aktiv. Sie wird in { $seconds } s zurückgenommen, wenn Sie sie nicht behalten.
apply-banner-keep = Änderung behalten
apply-banner-revert = Jetzt zurücknehmen
apply-banner-rolled-back = Die Änderung wurde nicht rechtzeitig bestätigt und ist zurückgenommen.
apply-banner-confirmed = Die Änderung bleibt.

home-config-title = Konfigurationsdateien
home-config-ok = { $sections } Abschnitte
home-config-broken = Fehler in Zeile { $line }, Byte { $byte }: { $reason }. Portico ändert diese Datei nicht, bis sie repariert ist.
home-config-unreadable = Nicht lesbar.

wizard-error-language = Diese Sprache ist nicht verfügbar.
wizard-error-hostname = Verwenden Sie 1 bis 63 Buchstaben, Ziffern oder Bindestriche, ohne Bindestrich am Anfang oder Ende.
wizard-error-timezone = Wählen Sie eine Zeitzone aus der Liste.
wizard-error-password-short = Das Passwort muss mindestens { $min } Zeichen haben.
wizard-error-password-classes = Verwenden Sie Groß- und Kleinbuchstaben, eine Ziffer und ein Sonderzeichen.
wizard-error-password-weak = Dieses Passwort ist zu leicht zu erraten.
wizard-error-address = Das ist keine verwendbare IPv4-Adresse mit Netzmaske.
wizard-error-gateway-outside = Das Gateway muss eine andere Adresse im Internet-Subnetz sein.
wizard-error-wan-overlaps-lan = Das Internet-Subnetz überschneidet sich mit dem lokalen Netz ({ $lan }). Ändern Sie eines davon.
wizard-error-required = Dieses Feld ist erforderlich.
wizard-error-mtu = Die MTU muss zwischen 576 und 1500 liegen.
wizard-error-ssid = Der Netzwerkname muss 1 bis 32 Zeichen haben.
wizard-error-wifi-key = Der WLAN-Schlüssel muss 8 bis 63 druckbare Zeichen haben.
wizard-error-encryption = Wählen Sie WPA3, WPA2/WPA3 oder WPA2.
wizard-error-country = Verwenden Sie einen zweistelligen Ländercode wie DE.
wizard-error-radio = Dieser Router hat kein Funkmodul namens { $radio }.
wizard-error-dhcp-range = Der Adressbereich muss in das lokale Netz passen ({ $hosts } Adressen).
wizard-error-leasetime = Geben Sie eine Lease-Dauer wie 30m, 12h, 1d oder infinite an.
wizard-error-port = Wählen Sie einen Port von 1 bis 65535.
wizard-error-tunnel-overlaps = Das Tunnel-Subnetz überschneidet sich mit dem lokalen Netz. Wählen Sie ein anderes.
wizard-error-endpoint = Geben Sie den Hostnamen oder die Adresse ein, mit der sich Clients verbinden.
wizard-error-peer-name = Verwenden Sie einen eindeutigen Namen aus Buchstaben, Ziffern und Unterstrichen.
