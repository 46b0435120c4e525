//! The certificates a local control plane needs, made with the `openssl` command (present on
//! these machines; it spares the crate an X.509 dependency): a CA, the API server's serving
//! certificate, an admin client certificate in `system:masters`, and the service-account
//! signing key pair. Keys are P-256: generating them is fast, unlike RSA.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ControlPlaneError;

/// Files written by [`Pki::generate`], all inside one directory.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub admin_cert: PathBuf,
    pub admin_key: PathBuf,
    pub service_account_key: PathBuf,
    pub service_account_pub: PathBuf,
}

/// Our own openssl config, so that the machine's default config (which differs between
/// distributions) cannot add or clash with extensions. rustls checks them strictly: the CA
/// must say CA:TRUE, leaves need subjectAltName and the right extendedKeyUsage.
const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ecs-bridge
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
";

const DAYS: &str = "3650";

impl Pki {
    /// Writes a fresh CA and the certificates signed by it into `dir`.
    pub fn generate(dir: &Path) -> Result<Pki, ControlPlaneError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ControlPlaneError::io(format!("cannot create {}", dir.display()), e))?;
        let config = dir.join("openssl.cnf");
        std::fs::write(&config, OPENSSL_CONFIG)
            .map_err(|e| ControlPlaneError::io(format!("cannot write {}", config.display()), e))?;
        let path = |name: &str| dir.join(name);
        let pki = Pki {
            ca_cert: path("ca.crt"),
            server_cert: path("kube-apiserver.crt"),
            server_key: path("kube-apiserver.key"),
            admin_cert: path("admin.crt"),
            admin_key: path("admin.key"),
            service_account_key: path("service-account.key"),
            service_account_pub: path("service-account.pub"),
        };
        let ca_key = path("ca.key");

        openssl("create the CA", dir, |c| {
            c.args(["req", "-x509", "-new", "-nodes", "-days", DAYS])
                .args(new_key())
                .arg("-config")
                .arg(&config)
                .args(["-extensions", "ca"])
                .args(["-subj", "/CN=ecs-bridge-local-ca"])
                .arg("-keyout")
                .arg(&ca_key)
                .arg("-out")
                .arg(&pki.ca_cert)
        })?;
        let leaves = [
            ("kube-apiserver", "server", "/CN=kube-apiserver", &pki.server_cert, &pki.server_key),
            ("admin", "client", "/O=system:masters/CN=admin", &pki.admin_cert, &pki.admin_key),
        ];
        for (name, extensions, subject, cert, key) in leaves {
            let csr = path(&format!("{name}.csr"));
            openssl(&format!("create the {name} key and request"), dir, |c| {
                c.args(["req", "-new", "-nodes"])
                    .args(new_key())
                    .arg("-config")
                    .arg(&config)
                    .args(["-subj", subject])
                    .arg("-keyout")
                    .arg(key)
                    .arg("-out")
                    .arg(&csr)
            })?;
            openssl(&format!("sign the {name} certificate"), dir, |c| {
                c.args(["x509", "-req", "-days", DAYS, "-CAcreateserial"])
                    .arg("-in")
                    .arg(&csr)
                    .arg("-CA")
                    .arg(&pki.ca_cert)
                    .arg("-CAkey")
                    .arg(&ca_key)
                    .arg("-extfile")
                    .arg(&config)
                    .args(["-extensions", extensions])
                    .arg("-out")
                    .arg(cert)
            })?;
        }
        openssl("create the service-account signing key", dir, |c| {
            c.args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
                .arg("-out")
                .arg(&pki.service_account_key)
        })?;
        openssl("derive the service-account public key", dir, |c| {
            c.args(["pkey", "-pubout"])
                .arg("-in")
                .arg(&pki.service_account_key)
                .arg("-out")
                .arg(&pki.service_account_pub)
        })?;
        Ok(pki)
    }
}

fn new_key() -> [&'static str; 4] {
    ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
}

fn openssl(step: &str, dir: &Path, args: impl FnOnce(&mut Command) -> &mut Command) -> Result<(), ControlPlaneError> {
    let mut command = Command::new("openssl");
    command.current_dir(dir);
    args(&mut command);
    let output = command.output().map_err(|source| ControlPlaneError::ToolMissing {
        tool: "openssl",
        purpose: "make the control plane's certificates",
        source,
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ControlPlaneError::Openssl {
            step: step.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}
