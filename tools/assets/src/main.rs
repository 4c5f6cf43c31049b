//! `steward-assets <site dir>`: hashes and precompresses `<site>/pkg/steward.{js,wasm,css}`
//! and writes `<site>/assets.json` (see the library). Prints each file's raw, gzip and brotli
//! sizes.

fn main() {
    let Some(site) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: steward-assets <site dir holding pkg/>");
        std::process::exit(2);
    };
    match steward_assets::build(&site.join("pkg"), &site.join("assets.json")) {
        Ok(built) => {
            println!(
                "{:<34} {:>10} {:>10} {:>10}",
                "asset", "raw", "gzip", "brotli"
            );
            for s in &built.sizes {
                println!(
                    "{:<34} {:>7} KB {:>7} KB {:>7} KB",
                    s.name,
                    s.raw / 1000,
                    s.gzip / 1000,
                    s.brotli / 1000
                );
            }
        }
        Err(e) => {
            eprintln!("steward-assets: {e}");
            std::process::exit(1);
        }
    }
}
