//! The `linksim` program: it carries UDP between loopback ports with the delay and loss asked
//! for, and refuses to bind anything but loopback.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running simulator in front of an echo server: the program picks its own port and says
/// which once it is bound, so nothing is guessed and nothing waits on a timer.
struct Sim {
    child: Killed,
    out: std::io::Lines<BufReader<std::process::ChildStdout>>,
    addr: SocketAddr,
}

async fn start(extra: &[&str]) -> Sim {
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = echo.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((len, from)) = echo.recv_from(&mut buf).await {
            let _ = echo.send_to(&buf[..len], from).await;
        }
    });
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_linksim"))
            .args(["--listen", "127.0.0.1:0", "--target", &target.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let addr = out
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("linksim ")
                .and_then(|rest| rest.split(' ').next())
                .and_then(|a| a.parse().ok())
        })
        .expect("linksim says where it listens");
    Sim { child, out, addr }
}

impl Sim {
    /// Sends `n` datagrams through the simulator; returns the round trips seen.
    async fn echo(&self, n: usize) -> Vec<Duration> {
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut rtts = Vec::new();
        let mut buf = [0u8; 2048];
        for i in 0..n {
            let sent = Instant::now();
            client
                .send_to(format!("packet {i}").as_bytes(), self.addr)
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

    /// Stops the simulator as Ctrl-C would and returns its last line of counters.
    fn stop(mut self) -> String {
        let pid = self.child.0.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.out
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.starts_with("stopped: "))
            .expect("linksim reports its counters when it stops")
    }
}

async fn echo_through(extra: &[&str], n: usize) -> Vec<Duration> {
    start(extra).await.echo(n).await
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
    let sim = start(&["--loss", "1"]).await;
    let rtts = sim.echo(3).await;
    assert!(rtts.is_empty(), "every packet lost: {rtts:?}");
    // The packets reached the simulator, and it dropped them: not a simulator that never ran.
    let last = sim.stop();
    assert!(last.ends_with("dropped 3"), "{last}");
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
