# Portico — English (the reference catalog: every other language must have every key here).
app-name = Portico
nav-home = Overview
nav-setup = Setup
nav-portal = Portal
nav-offload = Offload
nav-bluetooth = Bluetooth
nav-ports = Ports
nav-logout = Log out
nav-menu = Menu
language = Language
language-switch = Change
skip-to-content = Skip to content

login-title = Log in
login-user = User name
login-password = Password
login-submit = Log in
login-show-password = Show password
login-hide-password = Hide password
login-failed = Wrong user name or password.
login-rate-limited = Too many attempts. Try again in { $seconds ->
    [one] one second
   *[other] { $seconds } seconds
}.
login-expired = Your session has ended. Please log in again.

setup-title = Welcome to Portico
setup-intro = This router has no administrator password yet. Choose one to protect its settings; it is also the password of the system user root.
setup-password = New password
setup-password-repeat = Repeat the password
setup-submit = Save password
setup-lan-only = First-time setup is only possible from the local network (LAN).
setup-error-short = The password must have at least { $min } characters.
setup-error-mismatch = The two passwords do not match.
setup-error-long = The password must have at most { $max } characters.
setup-error-control = The password must not contain control characters.
setup-done = The administrator password is set.

home-title = Overview
home-version = Portico version
home-platform = Platform
home-platform-dev = Development (root directory { $root })
home-platform-openwrt = OpenWrt
home-kernel = Kernel
home-hostname = Host name
home-uptime = Portico running for
home-network = Network functions
home-network-ready = Available (own network namespace)
home-network-unavailable = Unavailable: Portico runs in the host's network namespace, where it never changes interfaces, routes or firewall.
home-loading = Loading…

not-available-title = Not available yet
not-available-body = { $feature } is not part of this Portico version yet. This page will show it once it is.
feature-portal = The captive portal with vouchers
feature-offload = The firewall offload dashboard
feature-bluetooth = The Bluetooth LE peer view
feature-ports = Cable purpose detection

error-not-found = This page does not exist.
error-forbidden = You are not allowed to do this.
error-csrf = The request came from another site and was refused.
error-internal = Something went wrong inside Portico. The details are in its log.
error-bad-request = The request could not be understood.
error-unauthorized = Please log in first.
error-setup-required = Set the administrator password first.

error-apply-pending = Another change is waiting for confirmation. Keep or revert it first.
error-nothing-pending = No change is waiting for confirmation.
error-bad-token = This confirmation link is not valid (any more).
error-nothing-to-apply = The change leaves every setting as it is.
error-invalid-edit = This setting cannot be changed like that: { $path }.
error-config-parse = The file { $file } has an error in line { $line } (byte { $byte }): { $reason }. Portico leaves it untouched.
error-config-conflict = The file { $file } was changed by someone else meanwhile. Reload and try again.
error-reload-failed = The services did not accept the change, so it was reverted.
error-unknown-config = There is no configuration file { $file }.

apply-banner-pending = Your change is active. It will be reverted in { $seconds } s unless you keep it.
apply-banner-keep = Keep the change
apply-banner-revert = Revert now
apply-banner-rolled-back = The change was not confirmed in time and has been reverted.
apply-banner-confirmed = The change is kept.

home-config-title = Configuration files
home-config-ok = { $sections } sections
home-config-broken = Error in line { $line }, byte { $byte }: { $reason }. Portico will not change this file until it is fixed.
home-config-unreadable = Cannot be read.

wizard-error-language = This language is not available.
wizard-error-hostname = Use 1 to 63 letters, digits or hyphens; no hyphen at the start or end.
wizard-error-timezone = Choose a time zone from the list.
wizard-error-password-short = The password must have at least { $min } characters.
wizard-error-password-classes = Use upper- and lower-case letters, a digit and a symbol.
wizard-error-password-weak = This password is too easy to guess.
wizard-error-address = This is not a usable IPv4 address and netmask.
wizard-error-gateway-outside = The gateway must be another address inside the internet subnet.
wizard-error-wan-overlaps-lan = The internet subnet overlaps the local network ({ $lan }). Change one of them.
wizard-error-required = This field is required.
wizard-error-mtu = The MTU must be between 576 and 1500.
wizard-error-ssid = The network name must have 1 to 32 characters.
wizard-error-wifi-key = The Wi-Fi key must have 8 to 63 printable characters.
wizard-error-encryption = Choose WPA3, WPA2/WPA3 or WPA2.
wizard-error-country = Use a two-letter country code such as DE.
wizard-error-radio = This router has no radio called { $radio }.
wizard-error-dhcp-range = The address range must fit into the local network ({ $hosts } addresses).
wizard-error-leasetime = Use a lease time such as 30m, 12h, 1d or infinite.
wizard-error-port = Choose a port from 1 to 65535.
wizard-error-tunnel-overlaps = The tunnel subnet overlaps the local network. Choose another one.
wizard-error-endpoint = Enter the host name or address clients connect to.
wizard-error-peer-name = Use a unique name of letters, digits and underscores.
