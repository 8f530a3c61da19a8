//! QR codes: as an SVG `data:` URL for pages (Wi-Fi and VPN codes after the wizard, vouchers on
//! the print sheet) and as Unicode half blocks for a terminal.

use app::wizard::Wifi;

/// `text` as an SVG QR code in a `data:` URL; empty when the text is too long for a QR code.
pub fn svg_data_url(text: &str) -> String {
    use base64::Engine as _;
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

/// `text` as a compact QR code for printing: `(side, path)` where `side` is the code's width
/// in modules with a four-module quiet zone and `path` an SVG path to be stroked one module
/// wide: a horizontal line through each run of dark modules, the runs of a row joined by
/// relative moves. `None` when the text is too long for a QR code.
pub fn svg_path(text: &str) -> Option<(usize, String)> {
    use std::fmt::Write as _;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        // Where the pen is in this row (None: not in it yet).
        let mut pen: Option<usize> = None;
        let mut x = 0;
        while x < width {
            if row[x] == qrcode::Color::Dark {
                let run = row[x..]
                    .iter()
                    .take_while(|c| **c == qrcode::Color::Dark)
                    .count();
                let _ = match pen {
                    None => write!(path, "M{} {}.5h{run}", x + QUIET, y + QUIET),
                    Some(at) => write!(path, "m{} 0h{run}", x - at),
                };
                x += run;
                pen = Some(x);
            } else {
                x += 1;
            }
        }
    }
    Some((width + 2 * QUIET, path))
}

/// `text` as a QR code in Unicode half blocks (for `portico wizard apply`).
pub fn terminal(text: &str) -> String {
    qrcode::QrCode::new(text.as_bytes()).map_or_else(
        |e| format!("(no QR code: {e})"),
        |code| {
            code.render::<qrcode::render::unicode::Dense1x2>()
                .quiet_zone(true)
                .build()
        },
    )
}

/// The text of a Wi-Fi QR code (`WIFI:T:SAE;S:…;P:…;;`, special characters escaped).
pub fn wifi_text(wifi: &Wifi) -> String {
    let escape = |s: &str| {
        s.chars().fold(String::new(), |mut out, c| {
            if matches!(c, '\\' | ';' | ',' | ':' | '"') {
                out.push('\\');
            }
            out.push(c);
            out
        })
    };
    let kind = match wifi.encryption.as_str() {
        "none" | "owe" | "" => return format!("WIFI:T:nopass;S:{};;", escape(&wifi.ssid)),
        "sae" => "SAE",
        _ => "WPA",
    };
    format!(
        "WIFI:T:{kind};S:{};P:{};;",
        escape(&wifi.ssid),
        escape(&wifi.key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_codes_escape_what_the_format_reserves() {
        let wifi = Wifi {
            radio: "radio0".into(),
            ssid: "Café;Gast".into(),
            key: "a:b\\c,d\"e".into(),
            encryption: "sae".into(),
            country: None,
        };
        assert_eq!(
            wifi_text(&wifi),
            "WIFI:T:SAE;S:Café\\;Gast;P:a\\:b\\\\c\\,d\\\"e;;"
        );
        let mixed = Wifi {
            encryption: "sae-mixed".into(),
            ..wifi
        };
        assert!(wifi_text(&mixed).starts_with("WIFI:T:WPA;"));
    }

    #[test]
    fn the_compact_path_draws_the_same_modules() {
        let text = "http://192.168.1.1:8080/?code=K7M2-9QXD-4T";
        let (side, path) = svg_path(text).unwrap();
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        assert_eq!(side, code.width() + 8);
        // Every dark module is covered once: the lines' lengths add up to the dark count.
        let dark = code
            .to_colors()
            .iter()
            .filter(|c| **c == qrcode::Color::Dark)
            .count();
        let drawn: usize = path
            .split('h')
            .skip(1)
            .filter_map(|run| {
                let digits: String = run.chars().take_while(char::is_ascii_digit).collect();
                digits.parse::<usize>().ok()
            })
            .sum();
        assert_eq!(drawn, dark);
        assert!(path.len() < 6 * 1024, "{} bytes", path.len());
        assert!(svg_path(&"x".repeat(8000)).is_none());
    }

    #[test]
    fn too_long_for_a_qr_code_is_no_image() {
        assert!(svg_data_url("hello").starts_with("data:image/svg+xml;base64,"));
        assert_eq!(svg_data_url(&"x".repeat(8000)), "");
    }
}
