# Portico — français
app-name = Portico
nav-home = Vue d’ensemble
nav-setup = Configuration
nav-portal = Portail
nav-offload = Accélération
nav-bluetooth = Bluetooth
nav-ports = Ports
nav-logout = Se déconnecter
nav-menu = Menu
language = Langue
language-switch = Changer
skip-to-content = Aller au contenu

login-title = Connexion
login-user = Nom d’utilisateur
login-password = Mot de passe
login-submit = Se connecter
login-show-password = Afficher le mot de passe
login-hide-password = Masquer le mot de passe
login-failed = Nom d’utilisateur ou mot de passe incorrect.
login-rate-limited = Trop de tentatives. Réessayez dans { $seconds ->
    [one] une seconde
   *[other] { $seconds } secondes
}.
login-expired = Votre session a pris fin. Veuillez vous reconnecter.

setup-title = Bienvenue dans Portico
setup-intro = Ce routeur n’a pas encore de mot de passe administrateur. Choisissez-en un pour protéger ses réglages ; ce sera aussi le mot de passe de l’utilisateur système root.
setup-password = Nouveau mot de passe
setup-password-repeat = Répétez le mot de passe
setup-submit = Enregistrer le mot de passe
setup-lan-only = La première configuration n’est possible que depuis le réseau local (LAN).
setup-error-short = Le mot de passe doit comporter au moins { $min } caractères.
setup-error-mismatch = Les deux mots de passe ne correspondent pas.
setup-error-long = Le mot de passe doit comporter au plus { $max } caractères.
setup-error-control = Le mot de passe ne doit pas contenir de caractères de contrôle.
setup-done = Le mot de passe administrateur est défini.

home-title = Vue d’ensemble
home-version = Version de Portico
home-platform = Plateforme
home-platform-dev = Développement (répertoire racine { $root })
home-platform-openwrt = OpenWrt
home-kernel = Noyau
home-hostname = Nom d’hôte
home-uptime = Portico actif depuis
home-network = Fonctions réseau
home-network-ready = Disponibles (espace de noms réseau propre)
home-network-unavailable = Indisponibles : Portico tourne dans l’espace de noms réseau de l’hôte, où il ne modifie jamais interfaces, routes ni pare-feu.
home-loading = Chargement…

not-available-title = Pas encore disponible
not-available-body = { $feature } ne fait pas encore partie de cette version de Portico. Cette page l’affichera dès que ce sera le cas.
feature-portal = Le portail captif avec bons d’accès
feature-offload = Le tableau de bord de l’accélération du pare-feu
feature-bluetooth = La vue des pairs Bluetooth LE
feature-ports = La détection de l’usage des câbles

error-not-found = Cette page n’existe pas.
error-forbidden = Vous n’avez pas le droit de faire cela.
error-csrf = La requête venait d’un autre site et a été refusée.
error-internal = Une erreur s’est produite dans Portico. Les détails figurent dans son journal.
error-bad-request = La requête n’a pas pu être comprise.
error-unauthorized = Veuillez d’abord vous connecter.
error-setup-required = Définissez d’abord le mot de passe administrateur.

error-apply-pending = Une autre modification attend une confirmation. Conservez-la ou annulez-la d’abord.
error-nothing-pending = Aucune modification n’attend de confirmation.
error-bad-token = Ce lien de confirmation n’est pas (ou plus) valide.
error-nothing-to-apply = La modification laisse tous les réglages inchangés.
error-invalid-edit = Ce réglage ne peut pas être modifié ainsi : { $path }.
error-config-parse = Le fichier { $file } contient une erreur à la ligne { $line } (octet { $byte }) : { $reason }. Portico n’y touche pas.
error-config-conflict = Le fichier { $file } a été modifié par quelqu’un d’autre entre-temps. Rechargez et réessayez.
error-reload-failed = Les services n’ont pas accepté la modification ; elle a été annulée.
error-unknown-config = Il n’existe pas de fichier de configuration { $file }.

apply-banner-pending = Votre modification est active. Elle sera annulée dans { $seconds } s si vous ne la conservez pas.
apply-banner-keep = Conserver la modification
apply-banner-revert = Annuler maintenant
apply-banner-rolled-back = La modification n’a pas été confirmée à temps et a été annulée.
apply-banner-confirmed = La modification est conservée.

home-config-title = Fichiers de configuration
home-config-ok = { $sections } sections
home-config-broken = Erreur à la ligne { $line }, octet { $byte } : { $reason }. Portico ne modifiera pas ce fichier tant qu’il n’est pas corrigé.
home-config-unreadable = Illisible.

wizard-error-language = Cette langue n’est pas disponible.
wizard-error-hostname = Utilisez 1 à 63 lettres, chiffres ou traits d’union, sans trait d’union au début ni à la fin.
wizard-error-timezone = Choisissez un fuseau horaire dans la liste.
wizard-error-password-short = Le mot de passe doit comporter au moins { $min } caractères.
wizard-error-password-classes = Utilisez des majuscules et des minuscules, un chiffre et un symbole.
wizard-error-password-weak = Ce mot de passe est trop facile à deviner.
wizard-error-address = Ce n’est pas une adresse IPv4 avec masque de réseau utilisable.
wizard-error-gateway-outside = La passerelle doit être une autre adresse du sous-réseau internet.
wizard-error-wan-overlaps-lan = Le sous-réseau internet chevauche le réseau local ({ $lan }). Modifiez l’un des deux.
wizard-error-required = Ce champ est obligatoire.
wizard-error-mtu = La MTU doit être comprise entre 576 et 1500.
wizard-error-ssid = Le nom du réseau doit comporter 1 à 32 caractères.
wizard-error-wifi-key = La clé Wi-Fi doit comporter 8 à 63 caractères imprimables.
wizard-error-encryption = Choisissez WPA3, WPA2/WPA3 ou WPA2.
wizard-error-country = Utilisez un code pays à deux lettres comme FR.
wizard-error-radio = Ce routeur n’a pas de radio nommée { $radio }.
wizard-error-dhcp-range = La plage d’adresses doit tenir dans le réseau local ({ $hosts } adresses).
wizard-error-leasetime = Indiquez une durée de bail comme 30m, 12h, 1d ou infinite.
wizard-error-port = Choisissez un port de 1 à 65535.
wizard-error-tunnel-overlaps = Le sous-réseau du tunnel chevauche le réseau local. Choisissez-en un autre.
wizard-error-endpoint = Saisissez le nom d’hôte ou l’adresse auxquels les clients se connectent.
wizard-error-peer-name = Utilisez un nom unique fait de lettres, de chiffres et de tirets bas.
