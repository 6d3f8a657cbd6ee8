//! Headless Chromium over WebDriver (chromedriver) for the browser tests. Chromium and
//! chromedriver come from Debian's packages, which `.ci/run` installs.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use pathway_tests::sample::DEMO_PASSWORD;
use serde_json::json;

pub struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a port of its choosing and returns it with its address, once it
/// says it is ready.
pub fn chromedriver() -> (Killed, String) {
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
pub struct Browser(pub Client);

impl Browser {
    pub async fn start(driver: &str) -> Browser {
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

    pub async fn open(&self, url: &str) {
        self.0.goto(url).await.unwrap();
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.0.find(Locator::Css(css)).await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        let e = self.0.find(Locator::Css(css)).await.unwrap();
        e.click().await.unwrap();
    }

    pub async fn choose(&self, css: &str, value: &str) {
        let e = self.0.find(Locator::Css(css)).await.unwrap();
        e.select_by_value(value).await.unwrap();
    }

    /// Sets a form field's value directly (date inputs take typed keys in the browser's
    /// locale, which a test cannot know).
    pub async fn set(&self, id: &str, value: &str) {
        self.0
            .execute(
                "document.getElementById(arguments[0]).value = arguments[1]",
                vec![json!(id), json!(value)],
            )
            .await
            .unwrap();
    }

    /// Waits until the page shows `text` (a click's navigation may still be on its way).
    pub async fn until_shows(&self, text: &str) -> String {
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

    /// Scrolls the element `css` names to the top of the window, for a screenshot of it.
    pub async fn scroll_to(&self, css: &str) {
        self.0
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView()",
                vec![json!(css)],
            )
            .await
            .unwrap();
    }

    pub async fn screenshot(&self, to: &Path) {
        std::fs::write(to, self.0.screenshot().await.unwrap()).unwrap();
    }

    /// Logs in at `base` as a sample staff member (every one has the demo password).
    pub async fn log_in(&self, base: &str, user: &str) {
        self.log_in_with(base, user, DEMO_PASSWORD).await;
    }

    pub async fn log_in_with(&self, base: &str, user: &str, password: &str) {
        self.open(&format!("{base}/login")).await;
        self.type_into("input[name=username]", user).await;
        self.type_into("input[name=password]", password).await;
        self.click("#login").await;
    }
}

pub fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
