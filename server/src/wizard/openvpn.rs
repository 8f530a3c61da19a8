//! The OpenVPN server's certificates, made on the router at Apply: a CA, the server's
//! certificate and key (written under `<root>/etc/openvpn/portico/`, key mode 0600), and one
//! client's certificate and key, which go only into the client's `.ovpn` file shown once.
//!
//! ECDSA P-256 throughout (OpenVPN 2.4 and later; `dh none` selects ECDH).

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A fresh public key infrastructure for one server and one client (PEM).
pub struct Pki {
    pub ca_cert: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

fn params(common_name: &str, years: i64) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(365 * years);
    Ok(params)
}

/// Makes the CA, the server's and one client's certificates.
///
/// # Errors
/// When the key generation or signing fails.
pub fn make_pki(router: &str) -> Result<Pki, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = params(&format!("{router} OpenVPN CA"), 10)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;

    let leaf = |name: &str, purpose: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate()?;
        let mut p = params(name, 10)?;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyAgreement,
        ];
        p.extended_key_usages = vec![purpose];
        let cert = p.signed_by(&key, &ca_cert, &ca_key)?;
        Ok::<_, rcgen::Error>((cert.pem(), key.serialize_pem()))
    };
    let (server_cert, server_key) = leaf(router, ExtendedKeyUsagePurpose::ServerAuth)?;
    let (client_cert, client_key) = leaf("client", ExtendedKeyUsagePurpose::ClientAuth)?;
    Ok(Pki {
        ca_cert: ca_cert.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    })
}

/// Writes the server's files where `openvpn.portico` points (see
/// [`crate::wizard::OPENVPN_DIR`]).
///
/// # Errors
/// Any I/O error.
pub fn write_server_files(root: &Path, pki: &Pki) -> std::io::Result<()> {
    let dir = root.join(crate::wizard::OPENVPN_DIR);
    std::fs::create_dir_all(&dir)?;
    crate::state::write_atomically(&dir.join("ca.crt"), pki.ca_cert.as_bytes(), 0o644)?;
    crate::state::write_atomically(&dir.join("server.crt"), pki.server_cert.as_bytes(), 0o644)?;
    crate::state::write_atomically(&dir.join("server.key"), pki.server_key.as_bytes(), 0o600)
}

/// The client's `.ovpn` file, certificates inline.
pub fn client_config(pki: &Pki, endpoint: &str, port: u16, proto: &str) -> String {
    let proto = if proto == "tcp" { "tcp-client" } else { "udp" };
    format!(
        "client\ndev tun\nproto {proto}\nremote {endpoint} {port}\nnobind\npersist-key\npersist-tun\n\
         remote-cert-tls server\nverb 3\n<ca>\n{}</ca>\n<cert>\n{}</cert>\n<key>\n{}</key>\n",
        pki.ca_cert, pki.client_cert, pki.client_key
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_pki_for_one_server_and_one_client() {
        let pki = make_pki("gartenhaus").unwrap();
        for pem in [&pki.ca_cert, &pki.server_cert, &pki.client_cert] {
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        }
        assert!(pki.server_key.starts_with("-----BEGIN PRIVATE KEY-----"));
        let config = client_config(&pki, "vpn.example.org", 1194, "udp");
        assert!(config.contains("remote vpn.example.org 1194\n"));
        assert!(config.contains(&pki.client_key) && !config.contains(&pki.server_key));

        let dir = tempfile::tempdir().unwrap();
        write_server_files(dir.path(), &pki).unwrap();
        let key = dir
            .path()
            .join(crate::wizard::OPENVPN_DIR)
            .join("server.key");
        assert_eq!(
            std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
