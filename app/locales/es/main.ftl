# Portico — español
app-name = Portico
nav-home = Resumen
nav-setup = Configuración
nav-portal = Portal
nav-offload = Aceleración
nav-bluetooth = Bluetooth
nav-ports = Puertos
nav-logout = Cerrar sesión
nav-menu = Menú
language = Idioma
language-switch = Cambiar
skip-to-content = Ir al contenido

login-title = Iniciar sesión
login-user = Nombre de usuario
login-password = Contraseña
login-submit = Iniciar sesión
login-show-password = Mostrar contraseña
login-hide-password = Ocultar contraseña
login-failed = Nombre de usuario o contraseña incorrectos.
login-rate-limited = Demasiados intentos. Vuelva a intentarlo en { $seconds ->
    [one] un segundo
   *[other] { $seconds } segundos
}.
login-expired = Su sesión ha terminado. Inicie sesión de nuevo.

setup-title = Bienvenido a Portico
setup-intro = Este router aún no tiene contraseña de administrador. Elija una para proteger su configuración; también será la contraseña del usuario del sistema root.
setup-password = Nueva contraseña
setup-password-repeat = Repita la contraseña
setup-submit = Guardar contraseña
setup-lan-only = La configuración inicial solo es posible desde la red local (LAN).
setup-error-short = La contraseña debe tener al menos { $min } caracteres.
setup-error-mismatch = Las dos contraseñas no coinciden.
setup-error-long = La contraseña debe tener como máximo { $max } caracteres.
setup-error-control = La contraseña no debe contener caracteres de control.
setup-done = La contraseña de administrador está establecida.

home-title = Resumen
home-version = Versión de Portico
home-platform = Plataforma
home-platform-dev = Desarrollo (directorio raíz { $root })
home-platform-openwrt = OpenWrt
home-kernel = Núcleo
home-hostname = Nombre del equipo
home-uptime = Portico en marcha desde hace
home-network = Funciones de red
home-network-ready = Disponibles (espacio de nombres de red propio)
home-network-unavailable = No disponibles: Portico se ejecuta en el espacio de nombres de red del anfitrión, donde nunca cambia interfaces, rutas ni cortafuegos.
home-loading = Cargando…

not-available-title = Aún no disponible
not-available-body = { $feature } todavía no forma parte de esta versión de Portico. Esta página lo mostrará cuando lo sea.
feature-portal = El portal cautivo con vales
feature-offload = El panel de aceleración del cortafuegos
feature-bluetooth = La vista de pares Bluetooth LE
feature-ports = La detección del uso de los cables

error-not-found = Esta página no existe.
error-forbidden = No tiene permiso para hacer esto.
error-csrf = La solicitud venía de otro sitio y fue rechazada.
error-internal = Algo ha fallado dentro de Portico. Los detalles están en su registro.
error-bad-request = No se pudo entender la solicitud.
error-unauthorized = Inicie sesión primero.
error-setup-required = Establezca primero la contraseña de administrador.

error-apply-pending = Otro cambio está esperando confirmación. Consérvelo o reviértalo primero.
error-nothing-pending = Ningún cambio está esperando confirmación.
error-bad-token = Este enlace de confirmación no es (o ya no es) válido.
error-nothing-to-apply = El cambio deja todos los ajustes como están.
error-invalid-edit = Este ajuste no se puede cambiar así: { $path }.
error-config-parse = El archivo { $file } tiene un error en la línea { $line } (byte { $byte }): { $reason }. Portico no lo modifica.
error-config-conflict = Otra persona cambió el archivo { $file } mientras tanto. Recargue e inténtelo de nuevo.
error-reload-failed = Los servicios no aceptaron el cambio, así que se revirtió.
error-unknown-config = No existe el archivo de configuración { $file }.

apply-banner-pending = Su cambio está activo. Se revertirá en { $seconds } s si no lo conserva.
apply-banner-keep = Conservar el cambio
apply-banner-revert = Revertir ahora
apply-banner-rolled-back = El cambio no se confirmó a tiempo y se ha revertido.
apply-banner-confirmed = El cambio se conserva.

home-config-title = Archivos de configuración
home-config-ok = { $sections } secciones
home-config-broken = Error en la línea { $line }, byte { $byte }: { $reason }. Portico no cambiará este archivo hasta que se corrija.
home-config-unreadable = No se puede leer.

wizard-error-language = Este idioma no está disponible.
wizard-error-hostname = Use de 1 a 63 letras, dígitos o guiones, sin guion al principio ni al final.
wizard-error-timezone = Elija una zona horaria de la lista.
wizard-error-password-short = La contraseña debe tener al menos { $min } caracteres.
wizard-error-password-classes = Use mayúsculas y minúsculas, un dígito y un símbolo.
wizard-error-password-weak = Esta contraseña es demasiado fácil de adivinar.
wizard-error-address = No es una dirección IPv4 con máscara de red utilizable.
wizard-error-gateway-outside = La puerta de enlace debe ser otra dirección dentro de la subred de internet.
wizard-error-wan-overlaps-lan = La subred de internet se solapa con la red local ({ $lan }). Cambie una de las dos.
wizard-error-required = Este campo es obligatorio.
wizard-error-mtu = La MTU debe estar entre 576 y 1500.
wizard-error-ssid = El nombre de la red debe tener de 1 a 32 caracteres.
wizard-error-wifi-key = La clave Wi-Fi debe tener de 8 a 63 caracteres imprimibles.
wizard-error-encryption = Elija WPA3, WPA2/WPA3 o WPA2.
wizard-error-country = Use un código de país de dos letras como ES.
wizard-error-radio = Este router no tiene ninguna radio llamada { $radio }.
wizard-error-dhcp-range = El rango de direcciones debe caber en la red local ({ $hosts } direcciones).
wizard-error-leasetime = Indique una duración de concesión como 30m, 12h, 1d o infinite.
wizard-error-port = Elija un puerto del 1 al 65535.
wizard-error-tunnel-overlaps = La subred del túnel se solapa con la red local. Elija otra.
wizard-error-endpoint = Introduzca el nombre de equipo o la dirección a la que se conectan los clientes.
wizard-error-peer-name = Use un nombre único de letras, dígitos y guiones bajos.
