//! The shared library's soname: `libposix_ipc.so.0.1` for every 0.1.x release (a 0.x minor
//! release may break the ABI, a patch release may not), so programs linked against one
//! release load any compatible one that `install.sh` installs beside it.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_default();
    let soname = if major == "0" {
        format!("libposix_ipc.so.0.{minor}")
    } else {
        format!("libposix_ipc.so.{major}")
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    println!("cargo:rerun-if-changed=build.rs");
}
