//! Places the job reads and writes — the copy, the work folder, the clocks — as a local folder or an S3 prefix
//! alike: DataFusion scans and writes them through the session's object-store registry (Ballista's, which serves
//! `s3://` from the standard AWS settings, docs/scale-out.md), and the few files the client itself reads or puts go
//! through the same stores.

use std::path::Path;

use anyhow::{Context, Result, bail};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use url::Url;

/// A folder: `file:///abs/path/` or `s3://bucket/prefix/` (always with a trailing slash).
#[derive(Clone, Debug)]
pub struct Place(Url);

impl Place {
    /// `s3://…` as given; anything else is a local folder, made absolute (executors resolve it themselves), and
    /// created when `create`.
    pub fn parse(s: &str, create: bool) -> Result<Place> {
        if s.starts_with("s3://") {
            let url =
                Url::parse(&format!("{}/", s.trim_end_matches('/'))).with_context(|| format!("not a URL: {s}"))?;
            return Ok(Place(url));
        }
        if s.contains("://") {
            bail!("{s}: only local folders and s3:// prefixes are supported");
        }
        let path = Path::new(s);
        if create {
            std::fs::create_dir_all(path).with_context(|| format!("cannot create {s}"))?;
        }
        let abs = std::fs::canonicalize(path).with_context(|| format!("no folder {s}"))?;
        Url::from_directory_path(&abs)
            .map(Place)
            .map_err(|()| anyhow::anyhow!("{} cannot be a URL", abs.display()))
    }

    pub fn join(&self, rel: &str) -> Place {
        Place(
            self.0
                .join(&format!("{}/", rel.trim_end_matches('/')))
                .expect("a relative folder name"),
        )
    }

    /// How DataFusion names the folder in a scan or a write.
    pub fn table_path(&self) -> String {
        self.0.to_string()
    }

    /// The local folder, when this place is one.
    pub fn local(&self) -> Option<std::path::PathBuf> {
        self.0.to_file_path().ok()
    }

    fn store(&self, ctx: &SessionContext) -> Result<std::sync::Arc<dyn ObjectStore>> {
        let root = match self.0.host_str() {
            Some(host) => format!("{}://{host}", self.0.scheme()),
            None => format!("{}://", self.0.scheme()),
        };
        ctx.runtime_env()
            .object_store(ObjectStoreUrl::parse(root)?)
            .with_context(|| format!("no object store for {}", self.0))
    }

    fn key(&self, rel: &str) -> Result<StorePath> {
        let url = self.0.join(rel)?;
        Ok(StorePath::from_url_path(url.path())?)
    }

    pub async fn read(&self, ctx: &SessionContext, rel: &str) -> Result<Vec<u8>> {
        let bytes = self
            .store(ctx)?
            .get(&self.key(rel)?)
            .await
            .with_context(|| format!("cannot read {}{rel}", self.0))?
            .bytes()
            .await?;
        Ok(bytes.to_vec())
    }

    pub async fn put(&self, ctx: &SessionContext, rel: &str, bytes: Vec<u8>) -> Result<()> {
        self.store(ctx)?
            .put(&self.key(rel)?, PutPayload::from(bytes))
            .await
            .with_context(|| format!("cannot write {}{rel}", self.0))?;
        Ok(())
    }

    /// Every Parquet file under the place, fetched into the local folder `to` (flat); returns their number.
    pub async fn fetch_parquet(&self, ctx: &SessionContext, to: &Path) -> Result<usize> {
        let store = self.store(ctx)?;
        let prefix = StorePath::from_url_path(self.0.path())?;
        let objects: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
        std::fs::create_dir_all(to)?;
        let mut n = 0;
        for o in objects.iter().filter(|o| o.location.as_ref().ends_with(".parquet")) {
            let bytes = store.get(&o.location).await?.bytes().await?;
            let name = o.location.filename().context("an object without a name")?;
            std::fs::write(to.join(format!("{n:05}-{name}")), &bytes)?;
            n += 1;
        }
        Ok(n)
    }

    /// Deletes everything under the place (a work folder once the job is done).
    pub async fn delete_all(&self, ctx: &SessionContext) -> Result<()> {
        if let Some(local) = self.local() {
            let _ = std::fs::remove_dir_all(local);
            return Ok(());
        }
        let store = self.store(ctx)?;
        let prefix = StorePath::from_url_path(self.0.path())?;
        let objects: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
        for o in objects {
            store.delete(&o.location).await?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
