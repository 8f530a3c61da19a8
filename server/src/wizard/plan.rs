//! A plan: the answers checked against the router's files, and everything applying them takes
//! (UCI edits, client configurations, certificate files).

use std::path::Path;

use app::wizard::{Answers, FieldError, subnet};
use uci::Edit;

use super::edits::{check, current_lan, edits, lan_alias};
use super::vpn::{ClientConfig, KeyPool, openvpn_edits, wireguard_edits};
use crate::platform::Platform;

/// Why a plan could not be made (the answers' own problems are `Ok(Err(..))`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A router file the plan reads is broken.
    #[error(transparent)]
    Platform(#[from] crate::platform::Error),
    /// The OpenVPN certificates could not be made.
    #[error("making the OpenVPN certificates: {0}")]
    Certificates(#[from] rcgen::Error),
}

/// What applying the answers takes.
pub struct Plan {
    pub edits: Vec<Edit>,
    pub clients: Vec<ClientConfig>,
    pub drop_on_confirm: Vec<(String, String)>,
    /// The OpenVPN server's certificates, written at Apply.
    pub pki: Option<super::openvpn::Pki>,
}

impl Plan {
    /// What is not UCI: the OpenVPN server's certificate files.
    ///
    /// # Errors
    /// Any I/O error.
    pub fn write_files(&self, root: &Path) -> std::io::Result<()> {
        match &self.pki {
            Some(pki) => super::openvpn::write_server_files(root, pki),
            None => Ok(()),
        }
    }
}

/// Checks the answers against the rules and the router's files and computes the edits; the
/// problems when the answers break a rule.
///
/// # Errors
/// When a config file cannot be read or parsed.
pub fn plan(
    answers: &Answers,
    platform: &dyn Platform,
    unchecked: bool,
    keys: &mut KeyPool,
) -> Result<Result<Plan, Vec<FieldError>>, Error> {
    let (network, wireless) = (platform.package("network")?, platform.package("wireless")?);
    let problems = check(answers, &network, &wireless);
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let mut edits = edits(answers, &network, &wireless, !unchecked);
    let mut clients = Vec::new();
    let mut pki = None;
    let lan = answers
        .lan
        .as_ref()
        .and_then(|l| subnet(&l.ipaddr, &l.netmask))
        .unwrap_or_else(|| current_lan(&network));
    keys.rewind();
    if let Some(wireguard) = &answers.wireguard {
        let (more, configs) = wireguard_edits(wireguard, lan, &platform.package("firewall")?, keys);
        edits.extend(more);
        clients = configs;
    }
    if let Some(openvpn) = &answers.openvpn {
        edits.extend(openvpn_edits(openvpn, lan, &platform.package("firewall")?));
        let router = answers
            .system
            .as_ref()
            .map_or("portico", |s| s.hostname.as_str());
        let made = super::openvpn::make_pki(router)?;
        clients.push(ClientConfig {
            name: "openvpn".into(),
            text: super::openvpn::client_config(
                &made,
                &openvpn.endpoint,
                openvpn.port,
                &openvpn.proto,
            ),
        });
        pki = Some(made);
    }
    // Unchecked: nothing to wait for, the new address alone.
    let drop_on_confirm: Vec<(String, String)> = lan_alias(answers, &network)
        .filter(|_| !unchecked)
        .map(|old| ("network.lan.ipaddr".to_owned(), old))
        .into_iter()
        .collect();
    Ok(Ok(Plan {
        edits,
        clients,
        drop_on_confirm,
        pki,
    }))
}
