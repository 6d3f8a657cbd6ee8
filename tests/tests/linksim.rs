//! The `linksim` program: it carries UDP between loopback ports with the delay and loss asked
//! for, and refuses to bind anything but loopback.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `n` datagrams through the simulator to an echo server; returns the round trips seen.
async fn echo_through(extra: &[&str], n: usize) -> Vec<Duration> {
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = echo.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((len, from)) = echo.recv_from(&mut buf).await {
            let _ = echo.send_to(&buf[..len], from).await;
        }
    });
    let listen = format!("127.0.0.1:{}", free_port());
    let _sim = Killed(
        Command::new(env!("CARGO_BIN_EXE_linksim"))
            .args(["--listen", &listen, "--target", &target.to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rtts = Vec::new();
    let mut buf = [0u8; 2048];
    for i in 0..n {
        let sent = Instant::now();
        client
            .send_to(format!("packet {i}").as_bytes(), &listen)
            .await
            .unwrap();
        if let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_secs(2), client.recv_from(&mut buf)).await
        {
            rtts.push(sent.elapsed());
        }
    }
    rtts
}

#[tokio::test]
async fn linksim_delays_each_way() {
    let rtts = echo_through(&["--delay-ms", "150", "--jitter-ms", "0"], 5).await;
    assert_eq!(rtts.len(), 5, "no loss asked for, none seen");
    for rtt in rtts {
        assert!(
            rtt >= Duration::from_millis(300),
            "150 ms each way: {rtt:?}"
        );
        assert!(rtt < Duration::from_millis(900), "{rtt:?}");
    }
}

#[tokio::test]
async fn linksim_loses_what_it_is_told_to() {
    let rtts = echo_through(&["--loss", "1"], 3).await;
    assert!(rtts.is_empty(), "every packet lost: {rtts:?}");
}

#[test]
fn linksim_binds_only_loopback() {
    let out = Command::new(env!("CARGO_BIN_EXE_linksim"))
        .args(["--listen", "0.0.0.0:5999", "--target", "127.0.0.1:4433"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not loopback"), "{err}");
}
