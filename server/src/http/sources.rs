//! The pages' data sources: each page's server function asks its source (a small trait the app
//! defines) and the edge implements it over the capabilities, converting to the app's views.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use app::bluetooth::{BluetoothSource, BluetoothView};
use app::i18n::Lang;
use app::offload::{OffloadSource, OffloadView};
use app::portal::{VoucherAdminView, VoucherSource};
use app::ports::{PortsSource, PortsView};
use app::wizard::page::{WizardPageData, WizardSource};

use super::AppState;

/// The capabilities the pages read.
pub(super) struct Sources {
    state: AppState,
}

impl Sources {
    pub(super) fn new(state: &AppState) -> Arc<Sources> {
        Arc::new(Sources {
            state: state.clone(),
        })
    }
}

impl OffloadSource for Sources {
    fn offload_view(&self) -> OffloadView {
        self.state.offload.as_ref().map_or_else(
            || OffloadView {
                problem: "not started by this server".into(),
                ..OffloadView::default()
            },
            |o| super::convert::offload_view(&o.dashboard()),
        )
    }
}

impl PortsSource for Sources {
    fn ports_view(&self) -> PortsView {
        self.state
            .ports
            .as_ref()
            .map_or_else(PortsView::default, |p| {
                super::convert::ports_view(&p.snapshot())
            })
    }
}

impl BluetoothSource for Sources {
    fn bluetooth_view(
        &self,
        lang: Lang,
    ) -> Pin<Box<dyn Future<Output = BluetoothView> + Send + '_>> {
        Box::pin(async move {
            let availability = crate::ble::probe().await;
            let link = self.state.ble.as_ref().map(|ble| ble.state());
            super::convert::bluetooth_view(&availability, link.as_ref(), lang)
        })
    }
}

impl WizardSource for Sources {
    fn wizard_page(
        &self,
        headers: &http::HeaderMap,
        step: Option<&str>,
        settings: bool,
        lang: Lang,
    ) -> (
        Result<WizardPageData, (http::StatusCode, String)>,
        Vec<http::HeaderValue>,
    ) {
        super::wizard::page(&self.state, headers, step, settings, lang)
    }
}

impl VoucherSource for Sources {
    fn voucher_view(&self, query: &HashMap<String, String>, lang: Lang) -> VoucherAdminView {
        super::vouchers::admin_view(&self.state, query, lang)
    }
}

impl app::tasks::TaskSource for Sources {
    fn task_view(
        &self,
        task: app::tasks::Task,
        query: &[(String, String)],
        lang: Lang,
    ) -> app::tasks::TaskView {
        super::tasks::view(&self.state, task, query, lang)
    }
}

impl app::backup::BackupSource for Sources {
    fn backup_view(&self, query: &[(String, String)], lang: Lang) -> app::backup::BackupView {
        super::backup::view(&self.state, query, lang)
    }
}

impl app::log::LogSource for Sources {
    fn log_view(&self, query: &[(String, String)], lang: Lang) -> app::log::LogView {
        super::log::view(&self.state, query, lang)
    }
}

impl app::maintenance::FirmwareSource for Sources {
    fn firmware_view(
        &self,
        query: &[(String, String)],
        lang: Lang,
    ) -> app::maintenance::FirmwareView {
        super::firmware::view(&self.state, query, lang)
    }
}
