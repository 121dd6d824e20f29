//! `+CME ERROR` codes: 3GPP TS 27.007 §9.2 and Quectel's extensions
//! (file-system errors 400–426, TCP/IP errors 550–574, as the EC2x AT manuals list them).

/// An ME error code with its 27.007 text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CmeError(u16);

macro_rules! cme_table {
    ($($name:ident = $code:literal, $text:literal;)*) => {
        impl CmeError {
            $(
                #[doc = concat!("`", stringify!($code), "`: ", $text, ".")]
                pub const $name: CmeError = CmeError($code);
            )*

            /// The verbose text (AT+CMEE=2); `unknown` for codes outside the table.
            pub fn text(self) -> &'static str {
                match self.0 {
                    $($code => $text,)*
                    _ => "unknown",
                }
            }
        }
    };
}

cme_table! {
    PHONE_FAILURE = 0, "phone failure";
    NO_CONNECTION = 1, "no connection to phone";
    ADAPTOR_LINK_RESERVED = 2, "phone-adaptor link reserved";
    OPERATION_NOT_ALLOWED = 3, "operation not allowed";
    OPERATION_NOT_SUPPORTED = 4, "operation not supported";
    PH_SIM_PIN_REQUIRED = 5, "PH-SIM PIN required";
    SIM_NOT_INSERTED = 10, "SIM not inserted";
    SIM_PIN_REQUIRED = 11, "SIM PIN required";
    SIM_PUK_REQUIRED = 12, "SIM PUK required";
    SIM_FAILURE = 13, "SIM failure";
    SIM_BUSY = 14, "SIM busy";
    SIM_WRONG = 15, "SIM wrong";
    INCORRECT_PASSWORD = 16, "incorrect password";
    MEMORY_FULL = 20, "memory full";
    INVALID_INDEX = 21, "invalid index";
    NOT_FOUND = 22, "not found";
    MEMORY_FAILURE = 23, "memory failure";
    TEXT_TOO_LONG = 24, "text string too long";
    INVALID_TEXT_CHARS = 25, "invalid characters in text string";
    DIAL_STRING_TOO_LONG = 26, "dial string too long";
    INVALID_DIAL_CHARS = 27, "invalid characters in dial string";
    NO_NETWORK_SERVICE = 30, "no network service";
    NETWORK_TIMEOUT = 31, "network timeout";
    NETWORK_NOT_ALLOWED = 32, "network not allowed - emergency calls only";
    INCORRECT_PARAMETERS = 50, "incorrect parameters";
    UNKNOWN = 100, "unknown";
    FILE_INVALID_INPUT = 400, "invalid input value";
    FILE_LARGER_THAN_FILE = 401, "larger than the size of the file";
    FILE_READ_ZERO = 402, "read zero byte";
    FILE_DRIVE_FULL = 403, "drive full";
    FILE_NOT_FOUND = 405, "file not found";
    FILE_INVALID_NAME = 406, "invalid file name";
    FILE_ALREADY_EXISTS = 407, "file already existed";
    FILE_WRITE_FAILED = 409, "fail to write the file";
    FILE_OPEN_FAILED = 410, "fail to open the file";
    FILE_READ_FAILED = 411, "fail to read the file";
    FILE_TOO_MANY_OPEN = 413, "reach the max number of file allowed to be opened";
    FILE_READ_ONLY = 414, "the file read-only";
    FILE_INVALID_DESCRIPTOR = 416, "invalid file descriptor";
    FILE_LIST_FAILED = 417, "fail to list the file";
    FILE_DELETE_FAILED = 418, "fail to delete the file";
    FILE_DISK_INFO_FAILED = 419, "fail to get disk info";
    FILE_NO_SPACE = 420, "no space";
    FILE_TIMEOUT = 421, "time out";
    FILE_TOO_LARGE = 423, "file too large";
    FILE_INVALID_PARAMETER = 425, "invalid parameter";
    FILE_ALREADY_OPENED = 426, "file already opened";
    IP_UNKNOWN = 550, "unknown error";
    IP_OPERATION_BLOCKED = 551, "operation blocked";
    IP_INVALID_PARAMETERS = 552, "invalid parameters";
    IP_MEMORY_NOT_ENOUGH = 553, "memory not enough";
    IP_CREATE_SOCKET_FAILED = 554, "create socket failed";
    IP_NOT_SUPPORTED = 555, "operation not supported";
    IP_BIND_FAILED = 556, "socket bind failed";
    IP_LISTEN_FAILED = 557, "socket listen failed";
    IP_WRITE_FAILED = 558, "socket write failed";
    IP_READ_FAILED = 559, "socket read failed";
    IP_ACCEPT_FAILED = 560, "socket accept failed";
    IP_PDP_OPEN_FAILED = 561, "open PDP context failed";
    IP_PDP_CLOSE_FAILED = 562, "close PDP context failed";
    IP_SOCKET_ID_USED = 563, "socket identity has been used";
    IP_DNS_BUSY = 564, "DNS busy";
    IP_DNS_PARSE_FAILED = 565, "DNS parse failed";
    IP_CONNECT_FAILED = 566, "socket connect failed";
    IP_SOCKET_CLOSED = 567, "socket has been closed";
    IP_OPERATION_BUSY = 568, "operation busy";
    IP_OPERATION_TIMEOUT = 569, "operation timeout";
    IP_PDP_BROKEN = 570, "PDP context broken down";
    IP_CANCEL_SEND = 571, "cancel send";
    IP_OPERATION_NOT_ALLOWED = 572, "operation not allowed";
    IP_APN_NOT_CONFIGURED = 573, "APN not configured";
    IP_PORT_BUSY = 574, "port busy";
}

impl CmeError {
    /// An error from its number (any number; unknown ones read as `unknown`).
    pub const fn from_code(code: u16) -> Self {
        CmeError(code)
    }

    /// The number (AT+CMEE=1).
    pub const fn code(self) -> u16 {
        self.0
    }
}

impl std::fmt::Display for CmeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "+CME ERROR: {} ({})", self.0, self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_texts_follow_27_007() {
        assert_eq!(CmeError::OPERATION_NOT_ALLOWED.code(), 3);
        assert_eq!(CmeError::SIM_FAILURE.text(), "SIM failure");
        assert_eq!(CmeError::from_code(50).text(), "incorrect parameters");
        assert_eq!(CmeError::from_code(9999).text(), "unknown");
        assert_eq!(CmeError::FILE_NOT_FOUND.code(), 405);
    }
}
