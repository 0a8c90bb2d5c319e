//! Generators for the personal data that leaks into LLM logs, and the two
//! check-digit validators they are built on.
//!
//! Every generated value is well formed, so a detector can tell a real leak
//! from a random digit run: Chinese mobile numbers follow the 1[3-9] prefix
//! plan, resident ID numbers carry a valid ISO 7064 MOD 11-2 check character
//! (GB 11643-1999), and bank card numbers pass the Luhn check.

use rand::Rng;

/// Kinds of personal data the generator plants in prompts and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PiiKind {
    Phone,
    CnId,
    BankCard,
    Email,
    Ipv4,
    ApiKey,
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Second and third digits of real mobile number blocks (13x, 15x, 17x, 18x, 19x...).
const PHONE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "147", "150", "151", "152", "155", "156", "157",
    "158", "159", "166", "173", "176", "177", "180", "181", "182", "185", "186", "187", "188", "189", "191", "198",
    "199",
];
/// Administrative division codes (Beijing Dongcheng, Shanghai Xuhui, Shenzhen Nanshan...).
const REGIONS: &[&str] = &[
    "110101", "110105", "110108", "310104", "310115", "440103", "440305", "440306", "330106", "330102", "320102",
    "320505", "510107", "420106", "610113", "500103", "370102", "350203", "430104", "120101", "210102", "230103",
    "410105", "340104",
];
/// Bank identification numbers of Chinese issuers, plus the card length they use.
const BINS: &[(&str, usize)] = &[
    ("622202", 19), // ICBC
    ("621700", 19), // CCB
    ("622848", 19), // ABC
    ("621660", 19), // BOC
    ("622588", 16), // CMB
    ("622260", 19), // BOCOM
    ("625911", 16), // UnionPay credit
    ("436742", 16), // CCB Visa
    ("518710", 16), // Mastercard
];
const MAIL_NAMES: &[&str] = &[
    "zhangwei",
    "li.na",
    "wang_fang",
    "liuyang",
    "chen.jie",
    "yangli",
    "zhao.min",
    "huangtao",
    "john.smith",
    "emily",
    "m.garcia",
    "alex.k",
    "dev.ops",
    "sarah.lee",
    "kevin",
    "admin",
];
const MAIL_DOMAINS: &[&str] = &[
    "qq.com",
    "163.com",
    "126.com",
    "gmail.com",
    "outlook.com",
    "foxmail.com",
    "example.com",
    "corp.example.cn",
    "sina.com",
];

/// ISO 7064 MOD 11-2 weights for the first 17 digits of a resident ID number.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

fn push_digits(rng: &mut impl Rng, n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
}

/// One of `items`, uniformly.
pub(crate) fn pick_str(rng: &mut impl Rng, items: &[&'static str]) -> &'static str {
    items[rng.gen_range(0..items.len())]
}

fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// Appends one value of `kind` to `out`.
pub(crate) fn push(kind: PiiKind, rng: &mut impl Rng, out: &mut String) {
    match kind {
        PiiKind::Phone => phone(rng, out),
        PiiKind::CnId => cn_id(rng, out),
        PiiKind::BankCard => bank_card(rng, out),
        PiiKind::Email => email(rng, out),
        PiiKind::Ipv4 => ipv4(rng, out),
        PiiKind::ApiKey => api_key(rng, out),
    }
}

/// An 11-digit mainland mobile number, `1[3-9]xxxxxxxxx`.
pub(crate) fn phone(rng: &mut impl Rng, out: &mut String) {
    out.push_str(pick_str(rng, PHONE_PREFIXES));
    push_digits(rng, 8, out);
}

/// The MOD 11-2 check character for the first 17 digits of an ID number.
/// Returns `None` when the input is not 17 ASCII digits.
pub fn cn_id_check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b.iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    Some(char::from(ID_CHECK[(sum % 11) as usize]))
}

/// True when `s` is an 18-character resident ID number whose last character
/// is the ISO 7064 MOD 11-2 check character of the first 17 digits.
pub fn is_valid_cn_id(s: &str) -> bool {
    if s.len() != 18 || !s.is_ascii() {
        return false;
    }
    let (body, last) = s.split_at(17);
    match cn_id_check_char(body) {
        Some(c) => last.len() == 1 && last.starts_with(c),
        None => false,
    }
}

/// An 18-character resident ID number: region, birth date, sequence, check.
pub(crate) fn cn_id(rng: &mut impl Rng, out: &mut String) {
    let start = out.len();
    out.push_str(pick_str(rng, REGIONS));
    let year = rng.gen_range(1958..=2006);
    let month = rng.gen_range(1..=12);
    let day = rng.gen_range(1..=28);
    out.push_str(&format!("{year:04}{month:02}{day:02}"));
    push_digits(rng, 3, out);
    // The first 17 characters are all digits we just pushed.
    let check = cn_id_check_char(&out[start..]).unwrap_or('0');
    out.push(check);
}

/// The Luhn check digit to append to `payload` (ASCII digits).
pub fn luhn_check_digit(payload: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, b) in payload.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let mut d = u32::from(b - b'0');
        // The digit next to the (future) check digit is doubled.
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// True when `s` is all digits (at least two) and passes the Luhn check.
pub fn luhn_valid(s: &str) -> bool {
    if s.len() < 2 {
        return false;
    }
    let (payload, last) = s.split_at(s.len() - 1);
    match luhn_check_digit(payload) {
        Some(c) => last.starts_with(c),
        None => false,
    }
}

/// A 16- or 19-digit card number with a real issuer prefix and a Luhn digit.
pub(crate) fn bank_card(rng: &mut impl Rng, out: &mut String) {
    let start = out.len();
    let (bin, len) = *pick(rng, BINS);
    out.push_str(bin);
    push_digits(rng, len - bin.len() - 1, out);
    let check = luhn_check_digit(&out[start..]).unwrap_or('0');
    out.push(check);
}

pub(crate) fn email(rng: &mut impl Rng, out: &mut String) {
    out.push_str(pick_str(rng, MAIL_NAMES));
    if rng.gen_bool(0.6) {
        out.push_str(&rng.gen_range(1..2000u32).to_string());
    }
    out.push('@');
    out.push_str(pick_str(rng, MAIL_DOMAINS));
}

pub(crate) fn ipv4(rng: &mut impl Rng, out: &mut String) {
    let (a, b) = match rng.gen_range(0..4) {
        0 => (192, 168),
        1 => (10, rng.gen_range(0..=255)),
        2 => (172, rng.gen_range(16..=31)),
        _ => (rng.gen_range(36..=223), rng.gen_range(0..=255)),
    };
    let c = rng.gen_range(0..=255u32);
    let d = rng.gen_range(1..=254u32);
    out.push_str(&format!("{a}.{b}.{c}.{d}"));
}

/// An OpenAI-style secret key: `sk-` and 48 alphanumerics.
pub(crate) fn api_key(rng: &mut impl Rng, out: &mut String) {
    out.push_str("sk-");
    for _ in 0..48 {
        out.push(char::from(*pick(rng, ALNUM)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn published_id_numbers_validate() {
        // The example of GB 11643-1999 and two widely published samples.
        assert!(is_valid_cn_id("11010519491231002X"));
        assert!(is_valid_cn_id("440524188001010014"));
        assert!(!is_valid_cn_id("110105194912310029"));
        assert_eq!(cn_id_check_char("11010519491231002"), Some('X'));
        assert_eq!(cn_id_check_char("44052418800101001"), Some('4'));
        assert!(!is_valid_cn_id("11010519491231002"));
        assert!(!is_valid_cn_id("11010519491231002Y"));
    }

    #[test]
    fn published_card_numbers_validate() {
        for good in ["79927398713", "4111111111111111", "5555555555554444", "6011111111111117", "378282246310005"] {
            assert!(luhn_valid(good), "{good}");
        }
        for bad in ["79927398710", "4111111111111112", "1234567812345678", "41a1"] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn generated_values_are_well_formed() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2000 {
            let mut s = String::new();
            cn_id(&mut rng, &mut s);
            assert!(is_valid_cn_id(&s), "{s}");
            s.clear();
            bank_card(&mut rng, &mut s);
            assert!(luhn_valid(&s), "{s}");
            assert!(s.len() == 16 || s.len() == 19);
            s.clear();
            phone(&mut rng, &mut s);
            let b = s.as_bytes();
            assert_eq!(b.len(), 11);
            assert_eq!(b[0], b'1');
            assert!((b'3'..=b'9').contains(&b[1]));
            assert!(b.iter().all(u8::is_ascii_digit));
            s.clear();
            api_key(&mut rng, &mut s);
            assert_eq!(s.len(), 51);
            assert!(s[3..].bytes().all(|c| c.is_ascii_alphanumeric()));
            s.clear();
            ipv4(&mut rng, &mut s);
            let parts: Vec<u32> = s.split('.').filter_map(|p| p.parse().ok()).collect();
            assert_eq!(parts.len(), 4);
            assert!(parts.iter().all(|p| *p <= 255));
            s.clear();
            email(&mut rng, &mut s);
            assert_eq!(s.matches('@').count(), 1);
        }
    }
}
