//! The staff console in a real headless Chromium, driven over WebDriver (chromedriver): a
//! teacher logs in and marks a session's attendance; a case officer logs in and adds a case
//! note. Screenshots of both are saved under `target/screenshots/`. Chromium and chromedriver
//! come from Debian's packages, which `.ci/run` installs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::identity::Ca;
use pathway_shared::model::{CaseFile, Role, case_id};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::offline_gateway_config;
use pathway_tests::sample::{DEMO_PASSWORD, SampleConfig, SampleFacility};
use serde_json::json;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a port of its choosing and returns it with its address, once it
/// says it is ready.
fn chromedriver() -> (Killed, String) {
    let mut child = Killed(
        Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver, installed by .ci/run)"),
    );
    let out = BufReader::new(child.0.stdout.take().unwrap());
    let port = out
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("ChromeDriver was started successfully on port ")
                .and_then(|p| p.trim_end_matches('.').parse::<u16>().ok())
        })
        .expect("chromedriver says which port it listens on");
    (child, format!("http://127.0.0.1:{port}"))
}

/// A WebDriver session on chromedriver.
struct Browser(Client);

impl Browser {
    async fn start(driver: &str) -> Browser {
        let caps = json!({
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--window-size=1024,900"]
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("a JSON object")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(driver)
            .await
            .expect("a WebDriver session");
        Browser(client)
    }

    async fn open(&self, url: &str) {
        self.0.goto(url).await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.0.find(Locator::Css(css)).await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        let e = self.0.find(Locator::Css(css)).await.unwrap();
        e.click().await.unwrap();
    }

    /// Waits until the page shows `text` (a click's navigation may still be on its way).
    async fn until_shows(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let page = self.0.source().await.unwrap();
            if page.contains(text) {
                return page;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "the page never showed {text:?}: {page}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self, to: &Path) {
        std::fs::write(to, self.0.screenshot().await.unwrap()).unwrap();
    }

    async fn log_in(&self, base: &str, user: &str) {
        self.open(&format!("{base}/login")).await;
        self.type_into("input[name=username]", user).await;
        self.type_into("input[name=password]", DEMO_PASSWORD).await;
        self.click("#login").await;
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_marks_attendance_and_a_case_officer_adds_a_note_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Sessions up to yesterday, so some are open for marking today.
    let today = time::OffsetDateTime::now_utc().date();
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 60,
        marks: 600,
        today,
        ..SampleConfig::default()
    });
    {
        let store = Store::open(d.join("data"), StoreOptions::default()).unwrap();
        sample.load(&store, 1).unwrap();
    }
    let ca = Ca::generate("Pathway test CA").unwrap();
    let path = offline_gateway_config(d, &ca, "127.0.0.1:0".parse().unwrap()).unwrap();
    let cfg = GatewayConfig::load(&path).unwrap();
    let gateway = Gateway::start(&cfg).unwrap();
    let base = format!("https://localhost:{}", gateway.lan_addr.unwrap().port());

    let (_driver, driver) = chromedriver();
    let b = Browser::start(&driver).await;
    let shots = screenshots();

    // A teacher marks a session.
    let teacher = sample
        .staff
        .iter()
        .find(|s| s.roles.contains(&Role::Instructor))
        .unwrap();
    b.log_in(&base, &teacher.username).await;
    b.until_shows("class=\"mark\"").await;
    b.click("a.mark").await;
    b.until_shows("id=\"save-attendance\"").await;
    b.click("#save-attendance").await;
    b.until_shows("id=\"saved\"").await;
    b.screenshot(&shots.join("teacher-marks-attendance.png"))
        .await;
    b.click("header button").await;

    // A case officer adds a note.
    let officer = sample
        .staff
        .iter()
        .find(|s| s.roles.contains(&Role::CaseOfficer))
        .unwrap();
    let person = &sample.cases[0].person_id;
    b.until_shows("id=\"login\"").await;
    b.log_in(&base, &officer.username).await;
    b.until_shows("id=\"sync\"").await;
    b.open(&format!("{base}/people/{person}")).await;
    b.type_into("#note-text", "Met to plan the housing referral.")
        .await;
    b.click("#save-note").await;
    b.until_shows("Met to plan the housing referral.").await;
    b.screenshot(&shots.join("case-officer-adds-note.png"))
        .await;
    b.0.close().await.unwrap();

    let case = gateway
        .store
        .get::<CaseFile>(&case_id(person))
        .unwrap()
        .unwrap();
    assert!(
        case.notes
            .values()
            .any(|n| n.text == "Met to plan the housing referral." && n.author == officer.username)
    );
    for f in ["teacher-marks-attendance.png", "case-officer-adds-note.png"] {
        let bytes = std::fs::read(shots.join(f)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{f} is a PNG");
    }
    gateway.shutdown().await;
}
