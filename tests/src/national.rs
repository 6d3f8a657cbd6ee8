//! A national site on loopback, made the way a national administrator makes one, with the real
//! `pathway` and `pathway-hub`: `ca init`, `ca issue-hub`, a hub configuration with its
//! administration, `add-admin`, the hub started; and gateways enrolled and installed from
//! bundles (`enrol`, `install --root`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::{free_tcp_port, run_pathway, workspace_binary};

/// The CA passphrase the sites use.
pub const PASSPHRASE: &str = "a long national passphrase";
/// The hub's name in its certificate.
pub const HUB_NAME: &str = "localhost";
/// The national administrator `add-admin` made.
pub const ADMIN: &str = "admin.national";

/// `pathway ARGS` with the CA passphrase in the environment (and `env`).
pub fn pathway(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let mut all = vec![("PATHWAY_CA_PASSPHRASE", PASSPHRASE)];
    all.extend_from_slice(env);
    run_pathway(&args, &all)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

pub struct NationalSite {
    pub ca_dir: PathBuf,
    pub hub_dir: PathBuf,
    /// The hub's QUIC address.
    pub hub_addr: SocketAddr,
    pub hub_status: SocketAddr,
    /// The hub's administration (HTTPS).
    pub admin: SocketAddr,
    /// [`ADMIN`]'s one-time password.
    pub admin_password: String,
    hub: Option<Child>,
}

impl NationalSite {
    /// Makes the CA and the hub's certificate in `dir`, configures the hub, adds [`ADMIN`] and
    /// starts the hub.
    pub fn start(dir: &Path) -> NationalSite {
        let ca_dir = dir.join("ca");
        let (ok, said) = pathway(
            &[
                "ca",
                "init",
                "--dir",
                s(&ca_dir),
                "--name",
                "Namibia Pathway CA",
            ],
            &[],
        );
        assert!(ok, "{said}");
        let hub_dir = dir.join("hub");
        let (ok, said) = pathway(
            &[
                "ca",
                "issue-hub",
                "--dir",
                s(&ca_dir),
                "--name",
                HUB_NAME,
                "--out",
                s(&hub_dir),
            ],
            &[],
        );
        assert!(ok, "{said}");
        let quic = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP port");
        let hub_addr = quic.local_addr().expect("its address");
        drop(quic);
        let hub_status: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
        let admin: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
        std::fs::write(
            hub_dir.join("hub.toml"),
            format!(
                "listen = \"{hub_addr}\"\ndata_dir = \"data\"\nstatus_listen = \"{hub_status}\"\n[tls]\nca = \"ca.pem\"\ncert = \"hub.pem\"\nkey = \"hub.key\"\n[admin]\nlisten = \"{admin}\"\n"
            ),
        )
        .expect("hub.toml");
        let admin_password = add_admin(&hub_dir, ADMIN, "national_admin");
        let mut site = NationalSite {
            ca_dir,
            hub_dir,
            hub_addr,
            hub_status,
            admin,
            admin_password,
            hub: None,
        };
        site.start_hub();
        site
    }

    /// `METHOD PATH` with the JSON `body` at the hub's administration, logged in as [`ADMIN`]:
    /// the status and the JSON answer (`Null` if none).
    pub async fn admin_call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (st, b) = self.admin_raw(method, path, &body).await;
        (
            st,
            serde_json::from_str(&b).unwrap_or(serde_json::Value::Null),
        )
    }

    /// A page of the dashboard, as [`ADMIN`] sees it: the status and the HTML.
    pub async fn admin_page(&self, path: &str) -> (u16, String) {
        self.admin_raw("GET", path, "").await
    }

    async fn admin_raw(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        self.admin_raw_as((ADMIN, &self.admin_password), method, path, body)
            .await
    }

    /// `METHOD PATH` with `body` at the hub's administration, logged in as `user` with
    /// `password`: the status and the body.
    pub async fn admin_raw_as(
        &self,
        (user, password): (&str, &str),
        method: &str,
        path: &str,
        body: &str,
    ) -> (u16, String) {
        let ca = std::fs::read_to_string(self.ca_dir.join("ca.pem")).expect("the CA certificate");
        let tls = crate::https::connector(&ca).expect("a TLS connector");
        let mut c = crate::https::Client::connect_to("localhost", self.admin.port(), &tls)
            .await
            .expect("the administration answers");
        let login = serde_json::json!({"username": user, "password": password});
        let (_, b) = c
            .send("POST", "/api/login", "", &login.to_string())
            .await
            .expect("log-in");
        let token = serde_json::from_str::<serde_json::Value>(&b).expect("JSON")["token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        c.send(method, path, &token, body)
            .await
            .expect("the call is answered")
    }

    /// Gives the console of the gateway installed at `config` a free loopback port (install
    /// asks the system for one at each start); returns it.
    pub fn console_on_free_port(config: &Path) -> u16 {
        let port = free_tcp_port();
        let text = std::fs::read_to_string(config)
            .expect("the installed configuration")
            .replace(
                "listen = \"127.0.0.1:0\"",
                &format!("listen = \"127.0.0.1:{port}\""),
            );
        std::fs::write(config, text).expect("the configuration is written");
        port
    }

    /// The running hub's process id.
    pub fn hub_pid(&self) -> Option<u32> {
        self.hub.as_ref().map(Child::id)
    }

    /// Adds an administrator of `role` (`auditor`, `sync_operator`, `national_admin`) with
    /// `pathway-hub add-admin`, the hub stopped meanwhile; returns the password it printed.
    pub fn add_admin(&mut self, username: &str, role: &str) -> String {
        self.stop_hub();
        let password = add_admin(&self.hub_dir, username, role);
        self.start_hub();
        password
    }

    /// Starts the hub (again).
    pub fn start_hub(&mut self) {
        self.stop_hub();
        self.hub = Some(
            Command::new(workspace_binary("pathway-hub").expect("pathway-hub is built"))
                .args(["--config", s(&self.hub_dir.join("hub.toml"))])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the hub starts"),
        );
        // Ready once its administration answers (its store is open by then).
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(self.admin).is_err() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "the hub's administration did not answer within 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Asks the running hub to read its certificate again (SIGHUP, as `systemctl reload`).
    pub fn reload_hub(&self) {
        let pid = self.hub.as_ref().expect("the hub runs").id().to_string();
        let ok = Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "SIGHUP sent to the hub");
    }

    /// Stops the hub (SIGKILL), and waits for it.
    pub fn stop_hub(&mut self) {
        if let Some(mut h) = self.hub.take() {
            let _ = h.kill();
            let _ = h.wait();
        }
    }

    /// Enrols `gateway` of `facility`, dialling the hub at `hub_addr`, and installs its bundle
    /// under `root`; the status port on `status_listen`. Returns what `enrol` printed and the
    /// installed configuration's path.
    pub fn enrol_and_install(
        &self,
        (gateway, facility): (&str, &str),
        hub_addr: SocketAddr,
        root: &Path,
        status_listen: SocketAddr,
    ) -> PathBuf {
        let bundle = root.with_extension("pathway-bundle");
        let (ok, said) = pathway(
            &[
                "enrol",
                "--ca-dir",
                s(&self.ca_dir),
                "--facility",
                facility,
                "--gateway",
                gateway,
                "--hub-addr",
                &hub_addr.to_string(),
                "--hub-name",
                HUB_NAME,
                // Tests reach the console on loopback, under this name.
                "--lan-name",
                "localhost",
                "--out",
                s(&bundle),
            ],
            &[],
        );
        assert!(ok, "{said}");
        let code = said
            .lines()
            .find_map(|l| l.split("bundle): ").nth(1))
            .unwrap_or_else(|| panic!("no code in: {said}"))
            .trim()
            .to_owned();
        let (ok, said) = pathway(
            &[
                "install",
                s(&bundle),
                "--code",
                &code,
                "--root",
                s(root),
                "--lan-listen",
                "127.0.0.1:0",
                "--status-listen",
                &status_listen.to_string(),
            ],
            &[],
        );
        assert!(ok, "{said}");
        root.join("etc/pathway/gateway.toml")
    }
}

/// `pathway-hub add-admin` on the hub in `hub_dir` (not running): the password it printed.
fn add_admin(hub_dir: &Path, username: &str, role: &str) -> String {
    let added = Command::new(workspace_binary("pathway-hub").expect("pathway-hub is built"))
        .args([
            "--config",
            s(&hub_dir.join("hub.toml")),
            "add-admin",
            "--username",
            username,
            "--role",
            role,
        ])
        .output()
        .expect("add-admin runs");
    let said = String::from_utf8_lossy(&added.stdout).into_owned();
    assert!(
        added.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&added.stderr)
    );
    said.lines()
        .find_map(|l| l.split("password: ").nth(1))
        .unwrap_or_else(|| panic!("no password in: {said}"))
        .trim()
        .to_owned()
}

impl Drop for NationalSite {
    fn drop(&mut self) {
        self.stop_hub();
    }
}
