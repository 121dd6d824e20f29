//! Transcript tests: host bytes in, exact bytes out, virtual time.
//!
//! Nothing here sleeps or opens a socket; time moves only when a test says so,
//! jumping straight to the module's next deadline.

mod backpressure;
mod boot;
mod commands;
mod crlf;
mod dialects;
mod engine;
mod faults;
mod faults_device;
mod faults_module;
mod files;
mod harness;
mod mqtt;
mod mqtt_chapter5;
mod mqtt_robustness;
mod network;
mod radio;
mod results;
mod robustness;
mod scenario;
mod ssl;
mod startup;
