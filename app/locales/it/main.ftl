# Portico — italiano
app-name = Portico
nav-home = Panoramica
nav-setup = Configurazione
nav-portal = Portale
nav-offload = Accelerazione
nav-bluetooth = Bluetooth
nav-ports = Porte
nav-logout = Esci
nav-menu = Menu
language = Lingua
language-switch = Cambia
skip-to-content = Vai al contenuto

login-title = Accesso
login-user = Nome utente
login-password = Password
login-submit = Accedi
login-show-password = Mostra password
login-hide-password = Nascondi password
login-failed = Nome utente o password errati.
login-rate-limited = Troppi tentativi. Riprova tra { $seconds ->
    [one] un secondo
   *[other] { $seconds } secondi
}.
login-expired = La sessione è terminata. Accedi di nuovo.

setup-title = Benvenuto in Portico
setup-intro = Questo router non ha ancora una password di amministratore. Scegline una per proteggere le impostazioni; sarà anche la password dell’utente di sistema root.
setup-password = Nuova password
setup-password-repeat = Ripeti la password
setup-submit = Salva password
setup-lan-only = La prima configurazione è possibile solo dalla rete locale (LAN).
setup-error-short = La password deve avere almeno { $min } caratteri.
setup-error-mismatch = Le due password non coincidono.
setup-error-long = La password può avere al massimo { $max } caratteri.
setup-error-control = La password non deve contenere caratteri di controllo.
setup-done = La password di amministratore è impostata.

home-title = Panoramica
home-version = Versione di Portico
home-platform = Piattaforma
home-platform-dev = Sviluppo (directory radice { $root })
home-platform-openwrt = OpenWrt
home-kernel = Kernel
home-hostname = Nome host
home-uptime = Portico attivo da
home-network = Funzioni di rete
home-network-ready = Disponibili (namespace di rete proprio)
home-network-unavailable = Non disponibili: Portico gira nel namespace di rete dell’host, dove non modifica mai interfacce, rotte o firewall.
home-loading = Caricamento…

not-available-title = Non ancora disponibile
not-available-body = { $feature } non fa ancora parte di questa versione di Portico. Questa pagina lo mostrerà quando ci sarà.
feature-portal = Il captive portal con voucher
feature-offload = Il pannello dell’accelerazione del firewall
feature-bluetooth = La vista dei peer Bluetooth LE
feature-ports = Il rilevamento dell’uso dei cavi

error-not-found = Questa pagina non esiste.
error-forbidden = Non hai il permesso di farlo.
error-csrf = La richiesta proveniva da un altro sito ed è stata rifiutata.
error-internal = Qualcosa è andato storto in Portico. I dettagli sono nel suo registro.
error-bad-request = Non è stato possibile capire la richiesta.
error-unauthorized = Accedi prima.
error-setup-required = Imposta prima la password di amministratore.

error-apply-pending = Un’altra modifica attende conferma. Mantienila o annullala prima.
error-nothing-pending = Nessuna modifica attende conferma.
error-bad-token = Questo link di conferma non è (più) valido.
error-nothing-to-apply = La modifica lascia tutte le impostazioni come sono.
error-invalid-edit = Questa impostazione non si può cambiare così: { $path }.
error-config-parse = Il file { $file } contiene un errore alla riga { $line } (byte { $byte }): { $reason }. Portico non lo tocca.
error-config-conflict = Il file { $file } è stato modificato da qualcun altro nel frattempo. Ricarica e riprova.
error-reload-failed = I servizi non hanno accettato la modifica, quindi è stata annullata.
error-unknown-config = Non esiste il file di configurazione { $file }.

apply-banner-pending = La modifica è attiva. Sarà annullata tra { $seconds } s se non la mantieni.
apply-banner-keep = Mantieni la modifica
apply-banner-revert = Annulla ora
apply-banner-rolled-back = La modifica non è stata confermata in tempo ed è stata annullata.
apply-banner-confirmed = La modifica è mantenuta.

home-config-title = File di configurazione
home-config-ok = { $sections } sezioni
home-config-broken = Errore alla riga { $line }, byte { $byte }: { $reason }. Portico non modificherà questo file finché non sarà corretto.
home-config-unreadable = Non leggibile.

wizard-error-language = Questa lingua non è disponibile.
wizard-error-hostname = Usa da 1 a 63 lettere, cifre o trattini, senza trattino all’inizio o alla fine.
wizard-error-timezone = Scegli un fuso orario dall’elenco.
wizard-error-password-short = La password deve avere almeno { $min } caratteri.
wizard-error-password-classes = Usa lettere maiuscole e minuscole, una cifra e un simbolo.
wizard-error-password-weak = Questa password è troppo facile da indovinare.
wizard-error-address = Questo non è un indirizzo IPv4 con maschera di rete utilizzabile.
wizard-error-gateway-outside = Il gateway deve essere un altro indirizzo nella sottorete internet.
wizard-error-wan-overlaps-lan = La sottorete internet si sovrappone alla rete locale ({ $lan }). Cambiane una.
wizard-error-required = Questo campo è obbligatorio.
wizard-error-mtu = La MTU deve essere tra 576 e 1500.
wizard-error-ssid = Il nome della rete deve avere da 1 a 32 caratteri.
wizard-error-wifi-key = La chiave Wi-Fi deve avere da 8 a 63 caratteri stampabili.
wizard-error-encryption = Scegli WPA3, WPA2/WPA3 o WPA2.
wizard-error-country = Usa un codice paese di due lettere come IT.
wizard-error-radio = Questo router non ha una radio chiamata { $radio }.
wizard-error-dhcp-range = L’intervallo di indirizzi deve stare nella rete locale ({ $hosts } indirizzi).
wizard-error-leasetime = Indica una durata del lease come 30m, 12h, 1d o infinite.
wizard-error-port = Scegli una porta da 1 a 65535.
wizard-error-tunnel-overlaps = La sottorete del tunnel si sovrappone alla rete locale. Scegline un’altra.
wizard-error-endpoint = Inserisci il nome host o l’indirizzo a cui si collegano i client.
wizard-error-peer-name = Usa un nome univoco di lettere, cifre e trattini bassi.
