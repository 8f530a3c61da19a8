# Portico — português (Brasil)
app-name = Portico
nav-home = Visão geral
nav-setup = Configuração
nav-portal = Portal
nav-offload = Aceleração
nav-bluetooth = Bluetooth
nav-ports = Portas
nav-logout = Sair
nav-menu = Menu
language = Idioma
language-switch = Trocar
skip-to-content = Ir para o conteúdo

login-title = Entrar
login-user = Nome de usuário
login-password = Senha
login-submit = Entrar
login-show-password = Mostrar senha
login-hide-password = Ocultar senha
login-failed = Nome de usuário ou senha incorretos.
login-rate-limited = Tentativas demais. Tente de novo em { $seconds ->
    [one] um segundo
   *[other] { $seconds } segundos
}.
login-expired = Sua sessão terminou. Entre novamente.

setup-title = Boas-vindas ao Portico
setup-intro = Este roteador ainda não tem senha de administrador. Escolha uma para proteger as configurações; ela também será a senha do usuário de sistema root.
setup-password = Nova senha
setup-password-repeat = Repita a senha
setup-submit = Salvar senha
setup-lan-only = A configuração inicial só é possível a partir da rede local (LAN).
setup-error-short = A senha precisa ter pelo menos { $min } caracteres.
setup-error-mismatch = As duas senhas não coincidem.
setup-error-long = A senha pode ter no máximo { $max } caracteres.
setup-error-control = A senha não pode conter caracteres de controle.
setup-done = A senha de administrador foi definida.

home-title = Visão geral
home-version = Versão do Portico
home-platform = Plataforma
home-platform-dev = Desenvolvimento (diretório raiz { $root })
home-platform-openwrt = OpenWrt
home-kernel = Kernel
home-hostname = Nome do host
home-uptime = Portico em execução há
home-network = Funções de rede
home-network-ready = Disponíveis (namespace de rede próprio)
home-network-unavailable = Indisponíveis: o Portico roda no namespace de rede do host, onde nunca altera interfaces, rotas ou firewall.
home-loading = Carregando…

not-available-title = Ainda não disponível
not-available-body = { $feature } ainda não faz parte desta versão do Portico. Esta página vai mostrá-lo quando fizer.
feature-portal = O portal cativo com vouchers
feature-offload = O painel de aceleração do firewall
feature-bluetooth = A visão de pares Bluetooth LE
feature-ports = A detecção do uso dos cabos

error-not-found = Esta página não existe.
error-forbidden = Você não tem permissão para fazer isso.
error-csrf = A solicitação veio de outro site e foi recusada.
error-internal = Algo deu errado dentro do Portico. Os detalhes estão no registro dele.
error-bad-request = Não foi possível entender a solicitação.
error-unauthorized = Entre primeiro.
error-setup-required = Defina primeiro a senha de administrador.

error-apply-pending = Outra alteração está aguardando confirmação. Mantenha-a ou desfaça-a primeiro.
error-nothing-pending = Nenhuma alteração está aguardando confirmação.
error-bad-token = Este link de confirmação não é (mais) válido.
error-nothing-to-apply = A alteração deixa todas as configurações como estão.
error-invalid-edit = Esta configuração não pode ser alterada assim: { $path }.
error-config-parse = O arquivo { $file } tem um erro na linha { $line } (byte { $byte }): { $reason }. O Portico não mexe nele.
error-config-conflict = O arquivo { $file } foi alterado por outra pessoa nesse meio-tempo. Recarregue e tente de novo.
error-reload-failed = Os serviços não aceitaram a alteração, por isso ela foi desfeita.
error-unknown-config = Não existe o arquivo de configuração { $file }.

apply-banner-pending = Sua alteração está ativa. Ela será desfeita em { $seconds } s se você não a mantiver.
apply-banner-keep = Manter a alteração
apply-banner-revert = Desfazer agora
apply-banner-rolled-back = A alteração não foi confirmada a tempo e foi desfeita.
apply-banner-confirmed = A alteração foi mantida.

home-config-title = Arquivos de configuração
home-config-ok = { $sections } seções
home-config-broken = Erro na linha { $line }, byte { $byte }: { $reason }. O Portico não vai alterar este arquivo até que seja corrigido.
home-config-unreadable = Não pode ser lido.

wizard-error-language = Este idioma não está disponível.
wizard-error-hostname = Use de 1 a 63 letras, dígitos ou hífens, sem hífen no início ou no fim.
wizard-error-timezone = Escolha um fuso horário da lista.
wizard-error-password-short = A senha precisa ter pelo menos { $min } caracteres.
wizard-error-password-classes = Use letras maiúsculas e minúsculas, um dígito e um símbolo.
wizard-error-password-weak = Esta senha é fácil demais de adivinhar.
wizard-error-address = Este não é um endereço IPv4 com máscara de rede utilizável.
wizard-error-gateway-outside = O gateway precisa ser outro endereço dentro da sub-rede de internet.
wizard-error-wan-overlaps-lan = A sub-rede de internet se sobrepõe à rede local ({ $lan }). Altere uma delas.
wizard-error-required = Este campo é obrigatório.
wizard-error-mtu = A MTU precisa estar entre 576 e 1500.
wizard-error-ssid = O nome da rede precisa ter de 1 a 32 caracteres.
wizard-error-wifi-key = A chave do Wi-Fi precisa ter de 8 a 63 caracteres imprimíveis.
wizard-error-encryption = Escolha WPA3, WPA2/WPA3 ou WPA2.
wizard-error-country = Use um código de país de duas letras, como BR.
wizard-error-radio = Este roteador não tem rádio chamado { $radio }.
wizard-error-dhcp-range = A faixa de endereços precisa caber na rede local ({ $hosts } endereços).
wizard-error-leasetime = Informe um tempo de concessão como 30m, 12h, 1d ou infinite.
wizard-error-port = Escolha uma porta de 1 a 65535.
wizard-error-tunnel-overlaps = A sub-rede do túnel se sobrepõe à rede local. Escolha outra.
wizard-error-endpoint = Informe o nome do host ou o endereço ao qual os clientes se conectam.
wizard-error-peer-name = Use um nome único com letras, dígitos e sublinhados.
