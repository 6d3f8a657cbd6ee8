//! The Debian packages `packaging/build-debs` made (into `target/debian`), unpacked into a
//! temporary root with `dpkg-deb -x` as dpkg would lay them out: the binaries run, the units are
//! the project's, the postinst makes the service user and its folders and nothing else (run for
//! real, as root, in a mount namespace of its own), and no package ships a file where
//! configuration or data live, so an upgrade keeps both.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The newest `.deb` of `package` in target/debian.
fn deb(package: &str) -> PathBuf {
    let dir = pathway_tests::workspace_binary("pathway")
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("debian");
    let found = std::fs::read_dir(&dir)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    found.unwrap_or_else(|| {
        panic!(
            "no {package} package in {}: run `packaging/build-debs` first",
            dir.display()
        )
    })
}

fn dpkg_deb(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .output()
        .expect("dpkg-deb runs");
    assert!(
        out.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Unpacks `package` into a fresh root: the root, and its control files.
fn unpack(package: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let file = deb(package);
    dpkg_deb(&["-x".as_ref(), file.as_os_str(), root.path().as_os_str()]);
    let control = root.path().join("DEBIAN");
    dpkg_deb(&["-e".as_ref(), file.as_os_str(), control.as_os_str()]);
    (root, control)
}

fn runs(bin: &Path, arg: &str) -> String {
    let out = Command::new(bin)
        .arg(arg)
        .output()
        .expect("the packaged binary runs");
    assert!(out.status.success(), "{} {arg}", bin.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_keeps_configuration_and_data(root: &Path) {
    for kept in ["etc", "var"] {
        assert!(
            !root.join(kept).exists(),
            "the package ships files under /{kept}: an upgrade would overwrite configuration or data"
        );
    }
}

#[test]
fn each_daemon_package_holds_its_binary_unit_example_and_a_postinst_that_makes_its_user() {
    for (package, example) in [
        ("pathway-gateway", "gateway/pathway-gateway.example.toml"),
        ("pathway-hub", "hub/pathway-hub.example.toml"),
    ] {
        let (root, control) = unpack(package);
        let root = root.path();
        let bin = root.join("usr/bin").join(package);
        assert_eq!(
            std::fs::metadata(&bin).unwrap().permissions().mode() & 0o111,
            0o111,
            "{package}: the binary is executable"
        );
        assert!(
            runs(&bin, "--help").contains("--config"),
            "{package} --help"
        );
        let unit = format!("{package}.service");
        assert_eq!(
            std::fs::read_to_string(root.join("lib/systemd/system").join(&unit)).unwrap(),
            std::fs::read_to_string(workspace().join("packaging/systemd").join(&unit)).unwrap(),
            "{package}: the unit is the project's"
        );
        let short = package.trim_start_matches("pathway-");
        assert_eq!(
            std::fs::read_to_string(
                root.join(format!("usr/share/doc/{package}/examples/{short}.toml"))
            )
            .unwrap(),
            std::fs::read_to_string(workspace().join(example)).unwrap(),
            "{package}: the example configuration"
        );
        assert_keeps_configuration_and_data(root);
        let postinst = control.join("postinst");
        assert_eq!(
            std::fs::metadata(&postinst).unwrap().permissions().mode() & 0o111,
            0o111
        );
        let script = std::fs::read_to_string(&postinst).unwrap();
        assert!(script.contains("useradd --system"), "{script}");
        let parsed = Command::new("sh")
            .arg("-n")
            .arg(&postinst)
            .status()
            .unwrap();
        assert!(parsed.success(), "{package}: the postinst parses");
        let fields = dpkg_deb(&[
            "--field".as_ref(),
            deb(package).as_os_str(),
            "Depends".as_ref(),
        ]);
        assert!(fields.contains("passwd"), "{package}: {fields}");
    }
}

#[test]
fn the_command_line_package_holds_pathway_and_runs() {
    let (root, _) = unpack("pathway");
    let bin = root.path().join("usr/bin/pathway");
    let help = runs(&bin, "--help");
    for command in ["install", "enrol", "doctor", "courier", "backup"] {
        assert!(
            help.contains(command),
            "pathway --help lists {command}: {help}"
        );
    }
    assert_keeps_configuration_and_data(root.path());
}

/// The packaged postinst, run as dpkg runs it, as root, in a mount namespace of its own whose
/// `/etc` and `/var/lib` are copies (so the machine's users are never touched): a first
/// install makes the `pathway` user and owner-only folders; an upgrade keeps the user, the
/// configuration and the store as they were.
#[test]
fn the_postinst_makes_the_user_and_folders_and_an_upgrade_keeps_everything() {
    if !is_root() {
        eprintln!("skipped: running the postinst needs root (CI runs as root)");
        return;
    }
    let (_root, control) = unpack("pathway-gateway");
    let postinst = control.join("postinst");
    let world = tempfile::tempdir().unwrap();
    let (etc, varlib) = (world.path().join("etc"), world.path().join("varlib"));
    std::fs::create_dir_all(&varlib).unwrap();
    let copied = Command::new("cp")
        .arg("-a")
        .arg("/etc/.")
        .arg(&etc)
        .status()
        .unwrap();
    assert!(copied.success());
    // Runs `script` with the copies mounted over /etc and /var/lib; prints what it printed.
    let inside = |script: &str| {
        let out = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind {} /etc && mount --bind {} /var/lib && {script}",
                etc.display(),
                varlib.display()
            ))
            .env("DPKG_MAINTSCRIPT_PACKAGE", "pathway-gateway")
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{script}: {said}");
        said
    };
    let host_passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let run = format!("sh {}", postinst.display());
    inside(&format!("{run} configure"));
    let passwd = std::fs::read_to_string(etc.join("passwd")).unwrap();
    let user = passwd
        .lines()
        .find(|l| l.starts_with("pathway:"))
        .unwrap_or_else(|| panic!("no pathway user made: {passwd}"))
        .to_owned();
    assert!(
        user.ends_with(":/var/lib/pathway-gateway:/usr/sbin/nologin"),
        "{user}"
    );
    assert_eq!(
        std::fs::read_to_string("/etc/passwd").unwrap(),
        host_passwd,
        "the machine's own users were not touched"
    );
    let owner = |p: &Path| {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(p).unwrap();
        (m.mode() & 0o777, m.uid())
    };
    let uid: u32 = user.split(':').nth(2).unwrap().parse().unwrap();
    assert_eq!(owner(&etc.join("pathway")), (0o700, uid), "/etc/pathway");
    assert_eq!(
        owner(&varlib.join("pathway-gateway")),
        (0o700, uid),
        "/var/lib/pathway-gateway"
    );

    // An upgrade (dpkg passes the old version): configuration and store stay as they were.
    std::fs::write(
        etc.join("pathway/gateway.toml"),
        "gateway_id = \"gw-whk01-a\"\n",
    )
    .unwrap();
    std::fs::write(varlib.join("pathway-gateway/conf"), "store").unwrap();
    std::fs::set_permissions(etc.join("pathway"), std::fs::Permissions::from_mode(0o750)).unwrap();
    inside(&format!("{run} configure 0.1.0"));
    assert_eq!(
        std::fs::read_to_string(etc.join("pathway/gateway.toml")).unwrap(),
        "gateway_id = \"gw-whk01-a\"\n"
    );
    assert_eq!(
        std::fs::read_to_string(varlib.join("pathway-gateway/conf")).unwrap(),
        "store"
    );
    assert_eq!(
        owner(&etc.join("pathway")).0,
        0o750,
        "a folder already there is left as the admin set it"
    );
    let again = std::fs::read_to_string(etc.join("passwd")).unwrap();
    assert_eq!(
        again.lines().filter(|l| l.starts_with("pathway:")).count(),
        1,
        "one pathway user after the upgrade"
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
