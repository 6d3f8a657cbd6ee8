//! The appliance daemon's library: the uplink to the hub (and, to come, the LAN API).

pub mod uplink;
