//! From a box in a storeroom to a configured gateway: `pathway ca init` makes the national CA
//! (its key sealed under a passphrase, never leaving that machine), `pathway enrol` issues one
//! gateway's certificates into a bundle file whose keys are sealed under a one-time code given
//! separately, and `pathway install` checks the code and the bundle and writes the
//! configuration, certificates, keys (owner-only) and the systemd unit.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use pathway_shared::crypt::{KEY_LEN, Sealer, key_from_secret, random};
use pathway_shared::identity::{Ca, Credentials, check_pair, gateway_identity, issued_by};
use serde::{Deserialize, Serialize};

use crate::files::write_private;

/// What marks a bundle file, and its version.
const BUNDLE_KIND: &str = "pathway-enrolment";
const BUNDLE_VERSION: u32 = 1;
/// The unit `install` writes.
const GATEWAY_UNIT: &str = include_str!("../../packaging/systemd/pathway-gateway.service");

/// The CA's key at rest: sealed under a key stretched from the passphrase.
#[derive(Serialize, Deserialize)]
struct SealedCa {
    name: String,
    cert_pem: String,
    salt: String,
    sealed_key: String,
}

/// `pathway ca init`: a new national CA in `dir`.
pub(crate) fn ca_init(dir: &Path, name: &str, passphrase: &str) -> anyhow::Result<()> {
    if passphrase.chars().count() < 12 {
        bail!("the CA passphrase must be at least 12 characters: it is all that guards the CA key");
    }
    let cert = dir.join("ca.pem");
    let key = dir.join("ca.key.sealed");
    if cert.exists() || key.exists() {
        bail!(
            "{} already holds a CA; a second one would orphan every gateway enrolled with the first",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ca = Ca::generate(name)?;
    let salt: [u8; 16] = random();
    let sealer = Sealer::new(&key_from_secret(passphrase, &salt));
    let sealed = SealedCa {
        name: name.to_owned(),
        cert_pem: ca.creds.cert_pem.clone(),
        salt: hex::encode(salt),
        sealed_key: hex::encode(sealer.seal(name.as_bytes(), ca.creds.key_pem.as_bytes())),
    };
    std::fs::write(&cert, &ca.creds.cert_pem)?;
    write_private(&key, &serde_json::to_string_pretty(&sealed)?)?;
    println!(
        "national CA \"{name}\" made: certificate {} (give it to every gateway and the hub), key {} (sealed under the passphrase; keep it on this machine)",
        cert.display(),
        key.display()
    );
    Ok(())
}

/// `pathway ca issue-hub`: the hub's certificate for `name`, its key (owner-only) and the CA
/// certificate, written into `out`.
pub(crate) fn issue_hub(
    ca_dir: &Path,
    passphrase: &str,
    name: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let ca = load_ca(ca_dir, passphrase)?;
    let hub = ca.issue_hub(name)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::write(out.join("ca.pem"), &ca.creds.cert_pem)?;
    std::fs::write(out.join("hub.pem"), &hub.cert_pem)?;
    write_private(&out.join("hub.key"), &hub.key_pem)?;
    // Kept beside the CA too: every bundle made from now on carries it, so that a gateway can
    // seal courier files to the hub.
    std::fs::write(ca_dir.join("hub.pem"), &hub.cert_pem)?;
    println!(
        "hub certificate for {name} in {}: hub.pem, hub.key (owner-only), ca.pem",
        out.display()
    );
    Ok(())
}

/// Opens the CA in `dir` with `passphrase`.
pub(crate) fn load_ca(dir: &Path, passphrase: &str) -> anyhow::Result<Ca> {
    let path = dir.join("ca.key.sealed");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no CA at {}: make one with `pathway ca init`",
            path.display()
        )
    })?;
    let sealed: SealedCa = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a sealed CA key", path.display()))?;
    let salt = hex::decode(&sealed.salt).context("the CA key's salt is damaged")?;
    let key_pem = hex::decode(&sealed.sealed_key)
        .ok()
        .and_then(|s| {
            Sealer::new(&key_from_secret(passphrase, &salt)).open(sealed.name.as_bytes(), &s)
        })
        .and_then(|k| String::from_utf8(k).ok())
        .context("the passphrase does not open the CA key")?;
    let ca = serde_json::json!({"name": sealed.name, "creds": {"cert_pem": sealed.cert_pem, "key_pem": key_pem}});
    Ok(serde_json::from_value(ca)?)
}

/// The parts of a bundle anyone may read; the sealed keys are bound to them, so changing any
/// of them makes the bundle unopenable.
#[derive(Serialize, Deserialize, Clone)]
struct Public {
    kind: String,
    version: u32,
    gateway_id: String,
    facility: String,
    hub_addr: String,
    hub_name: String,
    lan_name: String,
    ca_pem: String,
    cert_pem: String,
    lan_cert_pem: String,
    /// The hub's certificate, which courier files are sealed to (bundles made before there
    /// was one have none).
    #[serde(default)]
    hub_cert_pem: Option<String>,
    /// The facility's IANA time zone, when enrol was given one (left out when not, so bundles
    /// made before open as they were sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_zone: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Bundle {
    #[serde(flatten)]
    public: Public,
    salt: String,
    sealed_keys: String,
}

#[derive(Serialize, Deserialize)]
struct Keys {
    key_pem: String,
    lan_key_pem: String,
}

/// What `pathway enrol` is told.
pub(crate) struct Enrolment<'a> {
    pub(crate) ca_dir: &'a Path,
    pub(crate) passphrase: &'a str,
    pub(crate) facility: &'a str,
    pub(crate) gateway: &'a str,
    pub(crate) hub_addr: std::net::SocketAddr,
    pub(crate) hub_name: &'a str,
    pub(crate) lan_name: &'a str,
    pub(crate) days: i64,
    pub(crate) out: &'a Path,
    /// The hub's certificate; `None`: the one `ca issue-hub` kept beside the CA, if any.
    pub(crate) hub_cert: Option<&'a Path>,
    /// The facility's IANA time zone.
    pub(crate) time_zone: Option<&'a str>,
}

/// A one-time code: 20 letters and digits (no look-alikes) in groups of four.
fn one_time_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 20] = random();
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The code as typed: case and separators ignored.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `pathway enrol`: writes the bundle and returns the one-time code.
pub(crate) fn enrol(e: &Enrolment<'_>) -> anyhow::Result<String> {
    // The same rules as the hub's registry and its fleet: a gateway enrolled here can be
    // registered, revoked and renewed there by the same id.
    let facility_ok = (2..=12).contains(&e.facility.len())
        && e.facility
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !facility_ok {
        bail!(
            "--facility `{}` is not a facility code: 2 to 12 capital letters or digits, as in the national registry (WHK)",
            e.facility
        );
    }
    if !pathway_shared::import::username_ok(e.gateway) {
        bail!(
            "--gateway `{}` is not a gateway id: 2 to 64 lowercase letters, digits, `.`, `-` or `_` (gw-whk01-a)",
            e.gateway
        );
    }
    if let Some(tz) = e
        .time_zone
        .filter(|tz| !pathway_shared::model::time_zone_known(tz))
    {
        bail!(
            "--time-zone `{tz}` is not a time zone: use its IANA name, as Africa/Windhoek or Asia/Bangkok"
        );
    }
    let ca = load_ca(e.ca_dir, e.passphrase)?;
    let gw = ca.issue_gateway(e.gateway, e.facility, e.days)?;
    let lan = ca.issue_hub(e.lan_name)?;
    let kept = e.ca_dir.join("hub.pem");
    let hub_cert_pem = match e.hub_cert {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the hub certificate {}", p.display()))?,
        ),
        None => std::fs::read_to_string(&kept).ok(),
    };
    if let Some(pem) = &hub_cert_pem {
        let der = pathway_shared::identity::first_cert(pem, "hub certificate")?;
        pathway_shared::identity::verify_hub(&ca.creds.cert_pem, &der, e.hub_name).with_context(|| {
            format!(
                "the hub certificate ({}) is not this CA's certificate for {}: issue it with `pathway ca issue-hub --name {}`",
                e.hub_cert.unwrap_or(&kept).display(),
                e.hub_name,
                e.hub_name
            )
        })?;
    }
    let public = Public {
        kind: BUNDLE_KIND.into(),
        version: BUNDLE_VERSION,
        gateway_id: e.gateway.into(),
        facility: e.facility.into(),
        hub_addr: e.hub_addr.to_string(),
        hub_name: e.hub_name.into(),
        lan_name: e.lan_name.into(),
        ca_pem: ca.creds.cert_pem.clone(),
        cert_pem: gw.cert_pem,
        lan_cert_pem: lan.cert_pem,
        hub_cert_pem,
        time_zone: e.time_zone.map(str::to_owned),
    };
    let code = one_time_code();
    let salt: [u8; 16] = random();
    let keys = serde_json::to_vec(&Keys {
        key_pem: gw.key_pem,
        lan_key_pem: lan.key_pem,
    })?;
    let sealed = Sealer::new(&key_from_secret(&normalise(&code), &salt))
        .seal(&serde_json::to_vec(&public)?, &keys);
    let bundle = Bundle {
        public,
        salt: hex::encode(salt),
        sealed_keys: hex::encode(sealed),
    };
    write_private(e.out, &serde_json::to_string_pretty(&bundle)?)?;
    Ok(code)
}

/// What `pathway install` is told.
pub(crate) struct Install<'a> {
    pub(crate) bundle: &'a Path,
    pub(crate) code: &'a str,
    /// Where `/` is: a folder for tests and images, `/` on the appliance.
    pub(crate) root: &'a Path,
    pub(crate) lan_listen: std::net::SocketAddr,
    pub(crate) status_listen: std::net::SocketAddr,
    /// The CA fingerprint facility IT was given, to check the bundle's against.
    pub(crate) ca_fingerprint: Option<&'a str>,
    /// How the store's key is kept.
    pub(crate) store_key: KeyKeeping,
}

/// How `install` keeps the store's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum KeyKeeping {
    /// Sealed on the box itself (no --root) where systemd-creds is, else a file.
    Auto,
    /// Sealed with systemd-creds; refused where it is missing.
    Sealed,
    /// An owner-only file beside the configuration.
    File,
}

/// Fingerprints compare without regard to case, colons or spaces.
fn same_fingerprint(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_hexdigit)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    norm(a) == norm(b)
}

/// `root` joined with an absolute path.
fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// Reads and opens a bundle; nothing is written.
fn open_bundle(path: &Path, code: &str) -> anyhow::Result<(Public, Keys)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the bundle {}", path.display()))?;
    let bundle: Bundle = serde_json::from_str(&text)
        .ok()
        .filter(|b: &Bundle| b.public.kind == BUNDLE_KIND)
        .with_context(|| {
            format!(
                "{} is not a Pathway enrolment bundle, or it was cut short: copy it again from the national admin",
                path.display()
            )
        })?;
    if bundle.public.version != BUNDLE_VERSION {
        bail!(
            "{} is a version {} bundle; this pathway reads version {BUNDLE_VERSION}: update pathway",
            path.display(),
            bundle.public.version
        );
    }
    let salt = hex::decode(&bundle.salt).context("the bundle's salt is damaged")?;
    let sealed =
        hex::decode(&bundle.sealed_keys).context("the bundle's sealed keys are damaged")?;
    let key: [u8; KEY_LEN] = key_from_secret(&normalise(code), &salt);
    let keys: Keys = Sealer::new(&key)
        .open(&serde_json::to_vec(&bundle.public)?, &sealed)
        .and_then(|k| serde_json::from_slice(&k).ok())
        .context(
            "the code does not open this bundle, or the bundle was altered: check the code (letters and digits; case and dashes do not matter), or ask for a new bundle",
        )?;
    let p = &bundle.public;
    issued_by(&p.ca_pem, &p.cert_pem)
        .and_then(|()| issued_by(&p.ca_pem, &p.lan_cert_pem))
        .context("the certificates in the bundle are not issued by its CA, or have expired")?;
    let id = gateway_identity(&pathway_shared::identity::first_cert(
        &p.cert_pem,
        "gateway certificate",
    )?)?;
    if id.gateway != p.gateway_id || id.facility != p.facility {
        bail!(
            "the bundle's certificate names {} at {}, not what the bundle says",
            id.gateway,
            id.facility
        );
    }
    for (cert, key, what) in [
        (&p.cert_pem, &keys.key_pem, "gateway certificate"),
        (&p.lan_cert_pem, &keys.lan_key_pem, "LAN certificate"),
    ] {
        check_pair(
            &Credentials {
                cert_pem: cert.clone(),
                key_pem: key.clone(),
            },
            what,
        )?;
    }
    Ok((bundle.public, keys))
}

/// `pathway install`: checks the bundle and the code, then writes `/etc/pathway` (the
/// configuration, certificates and owner-only keys), the state folder and the systemd unit
/// under `root`. On the appliance (`root` is `/`) it also makes the service user `pathway` and
/// enables the unit. Returns the configuration's path.
pub(crate) fn install(i: &Install<'_>) -> anyhow::Result<Installed> {
    let (p, keys) = open_bundle(i.bundle, i.code)?;
    let fingerprint = pathway_shared::identity::fingerprint(&p.ca_pem, "CA certificate")?;
    if let Some(given) = i.ca_fingerprint
        && !same_fingerprint(given, &fingerprint)
    {
        bail!(
            "the bundle's national CA has the fingerprint {fingerprint}, not the one you were given ({given}): do not install it; ask the national admin for a bundle from the right CA"
        );
    }
    // The configuration names its files from its own folder, so a relative root is made
    // absolute first.
    let root = &std::path::absolute(i.root)
        .with_context(|| format!("--root {}: not a usable folder", i.root.display()))?;
    let etc = under(root, "/etc/pathway");
    let ca_path = etc.join("ca.pem");
    if let Ok(existing) = std::fs::read_to_string(&ca_path)
        && existing.trim() != p.ca_pem.trim()
    {
        bail!(
            "this machine is enrolled with another national CA ({}); this bundle is from a different one: check where it came from",
            ca_path.display()
        );
    }
    let state = under(root, "/var/lib/pathway-gateway");
    std::fs::create_dir_all(&etc).with_context(|| format!("cannot create {}", etc.display()))?;
    std::fs::create_dir_all(&state)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700))?;
    }
    std::fs::write(&ca_path, &p.ca_pem)?;
    std::fs::write(etc.join("gateway.pem"), &p.cert_pem)?;
    write_private(&etc.join("gateway.key"), &keys.key_pem)?;
    std::fs::write(etc.join("lan.pem"), &p.lan_cert_pem)?;
    write_private(&etc.join("lan.key"), &keys.lan_key_pem)?;
    let hub_line = match &p.hub_cert_pem {
        Some(pem) => {
            std::fs::write(etc.join("hub.pem"), pem)?;
            "# The hub's certificate: courier files are sealed to it.\nhub = \"hub.pem\"\n"
        }
        None => "",
    };
    let config = etc.join("gateway.toml");
    let toml = format!(
        "# Written by `pathway install` from the enrolment bundle of {gw}.\n\
         gateway_id = \"{gw}\"\n\
         facility = \"{fac}\"\n\
         data_dir = \"{data}\"\n\
         # Seals case content at rest; keep a copy with the backups.\n\
         store_key = \"{key}\"\n\
         status_listen = \"{status}\"\n\
         {zone_line}\n\n\
         [hub]\naddr = \"{hub}\"\nname = \"{hub_name}\"\n\n\
         [tls]\nca = \"ca.pem\"\ncert = \"gateway.pem\"\nkey = \"gateway.key\"\n{hub_line}\n\
         # Staff reach the console at https://{lan_name}/ (install ca.pem on their devices).\n\
         [lan]\nlisten = \"{lan}\"\ncert = \"lan.pem\"\nkey = \"lan.key\"\n",
        gw = p.gateway_id,
        fac = p.facility,
        data = state.display(),
        key = etc.join("store.key").display(),
        status = i.status_listen,
        hub = p.hub_addr,
        hub_name = p.hub_name,
        lan_name = p.lan_name,
        lan = i.lan_listen,
        zone_line = p.time_zone.as_deref().map_or_else(
            || "# time_zone = \"Asia/Bangkok\"  (else the facility's entry in the national registry)".to_owned(),
            |tz| format!("# The facility's time zone: every time staff see is in it.\ntime_zone = \"{tz}\""),
        ),
    );
    write_private(&config, &toml)?;
    // The package installs the unit where the system's units live, and upgrades it there; a
    // copy in /etc would shadow every later one. Without the package, the unit goes in /etc.
    let packaged = ["/lib/systemd/system", "/usr/lib/systemd/system"]
        .iter()
        .any(|d| under(root, d).join("pathway-gateway.service").exists());
    let units = under(root, "/etc/systemd/system");
    if !packaged {
        std::fs::create_dir_all(&units)?;
        std::fs::write(units.join("pathway-gateway.service"), GATEWAY_UNIT)?;
    }
    // The store's key: sealed with systemd-creds where the box has it, never in the clear on
    // the data disk; else a key file the daemon makes on its first start.
    let seal = match i.store_key {
        KeyKeeping::File => false,
        KeyKeeping::Sealed => {
            anyhow::ensure!(
                crate::credential::available(),
                "--store-key sealed needs systemd-creds (Debian's systemd package); or keep it as a file with --store-key file"
            );
            true
        }
        KeyKeeping::Auto => root == Path::new("/") && crate::credential::available(),
    };
    let key_sealed = if !seal {
        None
    } else {
        let cred = etc.join("store.key.cred");
        crate::credential::seal_new_key(&cred, &units)?;
        Some(cred)
    };
    if root == Path::new("/") {
        service_user(&[&etc, &state])?;
        let _ = std::process::Command::new("systemctl")
            .arg("daemon-reload")
            .status();
        let _ = std::process::Command::new("systemctl")
            .args(["enable", "pathway-gateway.service"])
            .status();
    }
    Ok(Installed {
        config,
        fingerprint,
        key_sealed,
    })
}

/// What `install` made.
pub(crate) struct Installed {
    pub(crate) config: PathBuf,
    /// The national CA's fingerprint.
    pub(crate) fingerprint: String,
    /// The store key's sealed credential, when systemd-creds sealed it.
    pub(crate) key_sealed: Option<PathBuf>,
}

/// Makes the system user `pathway` if it is missing and gives it `dirs`.
fn service_user(dirs: &[&Path]) -> anyhow::Result<()> {
    let exists = std::process::Command::new("id")
        .arg("pathway")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        let made = std::process::Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "pathway",
            ])
            .status()
            .context("cannot run useradd to make the service user `pathway`")?;
        if !made.success() {
            bail!(
                "useradd could not make the service user `pathway`: run `pathway install` as root"
            );
        }
    }
    for d in dirs {
        let owned = std::process::Command::new("chown")
            .args(["-R", "pathway:pathway"])
            .arg(d)
            .status()?;
        if !owned.success() {
            bail!("cannot give {} to the service user `pathway`", d.display());
        }
    }
    Ok(())
}
