//! The Debian packages `packaging/build-debs` made (into `target/debian`), unpacked into a
//! temporary root with `dpkg-deb -x` as dpkg would lay them out: the binaries run, the units are
//! the project's, the postinst makes the service user and its folders and nothing else, and no
//! package ships a file where configuration or data live, so an upgrade keeps both.

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
