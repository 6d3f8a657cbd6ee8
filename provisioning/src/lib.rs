//! What the `pathway` command line shares with the tests and benchmarks: the sample facility
//! (`pathway sample`, `pathway demo`) and the clients of the daemons' status ports (HTTP) and
//! of the LAN service and the hub's administration (HTTPS).

pub mod http;
pub mod https;
pub mod sample;
