//! Validation rules shared by the browser and the server, so both reject the same input
//! with the same message.

/// Shortest admin password accepted.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest admin password accepted (bounds the hashing work a request can cause).
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Why a new admin password was refused; [`PasswordError::message_key`] names its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordError {
    /// Fewer than [`PASSWORD_MIN_CHARS`] characters.
    TooShort,
    /// More than [`PASSWORD_MAX_CHARS`] characters.
    TooLong,
    /// Contains a control character (they cannot be typed at a login prompt).
    ControlCharacter,
    /// The repetition differs.
    Mismatch,
}

impl PasswordError {
    /// The Fluent key of the user-facing message.
    pub fn message_key(self) -> &'static str {
        match self {
            PasswordError::TooShort => "setup-error-short",
            PasswordError::TooLong => "setup-error-long",
            PasswordError::ControlCharacter => "setup-error-control",
            PasswordError::Mismatch => "setup-error-mismatch",
        }
    }

    /// A stable identifier for the API's `error.code`.
    pub fn code(self) -> &'static str {
        match self {
            PasswordError::TooShort => "password_too_short",
            PasswordError::TooLong => "password_too_long",
            PasswordError::ControlCharacter => "password_control_character",
            PasswordError::Mismatch => "password_mismatch",
        }
    }

    /// The message in `lang`, with the limits filled in.
    pub fn message(self, lang: crate::i18n::Lang) -> String {
        lang.tr_args(
            self.message_key(),
            &[
                ("min", PASSWORD_MIN_CHARS.into()),
                ("max", PASSWORD_MAX_CHARS.into()),
            ],
        )
    }
}

/// Checks a new admin password and its repetition.
///
/// # Errors
/// The first rule the password breaks.
pub fn new_password(password: &str, repeat: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    if password.chars().any(char::is_control) {
        return Err(PasswordError::ControlCharacter);
    }
    if password != repeat {
        return Err(PasswordError::Mismatch);
    }
    Ok(())
}

impl PasswordError {
    /// The inverse of [`PasswordError::code`].
    pub fn from_code(code: &str) -> Option<PasswordError> {
        [
            PasswordError::TooShort,
            PasswordError::TooLong,
            PasswordError::ControlCharacter,
            PasswordError::Mismatch,
        ]
        .into_iter()
        .find(|e| e.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert_eq!(new_password("short", "short"), Err(PasswordError::TooShort));
        assert_eq!(
            new_password("long enough", "long enougH"),
            Err(PasswordError::Mismatch)
        );
        assert_eq!(
            new_password("tab\there1", "tab\there1"),
            Err(PasswordError::ControlCharacter)
        );
        let long = "x".repeat(PASSWORD_MAX_CHARS + 1);
        assert_eq!(new_password(&long, &long), Err(PasswordError::TooLong));
        assert_eq!(new_password("Ünïcödé-ok", "Ünïcödé-ok"), Ok(()));
        // Counted in characters, not bytes.
        assert_eq!(new_password("ääää", "ääää"), Err(PasswordError::TooShort));
    }
}
