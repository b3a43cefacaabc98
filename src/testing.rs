//! What unit tests share: one RSA key per test process, a temp database, a runtime.

use std::path::Path;
use std::sync::OnceLock;

/// Copies the process's one test key into `dir` (generating it once: RSA is slow).
pub fn install_key(dir: &Path) {
    static KEY: OnceLock<(String, String)> = OnceLock::new();
    let (name, pem) = KEY.get_or_init(|| {
        let scratch = tempfile::tempdir().expect("a temp dir");
        let path = crate::keys::generate_key_file(scratch.path(), 2048).expect("a key");
        let name = path
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        (name, std::fs::read_to_string(path).expect("the key file"))
    });
    std::fs::create_dir_all(dir).expect("the keys dir");
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("the key file");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .expect("the key file's mode");
}

/// Runs a future to completion on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}
