//! The report cube's segments on disk (`app/src/costs/cube/file.rs`): written after a load
//! from the database, read back by a cube that starts later (a restarted server), refused
//! when damaged, removed when their batch's rows change.

use crate::{costs_fixture_sample, Role};
use app::costs::cube::{Buckets, Cube, Dim, Filters, Group, Metric};
use std::path::{Path, PathBuf};
use std::time::Duration;
use steward_tests::both_dbs;

fn seg_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x == "seg"));
    v.sort();
    v
}

/// Waits for the background writer (or pruner) until `dir` holds `n` segment files, none of
/// them one of `gone` (writing and pruning run after the snapshot returns, in either order).
async fn files_become(dir: &Path, n: usize, gone: &[PathBuf]) -> Vec<PathBuf> {
    for _ in 0..100 {
        let f = seg_files(dir);
        if f.len() == n && !f.iter().any(|p| gone.contains(p)) {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{} holds {:?}, not {n} segment files",
        dir.display(),
        seg_files(dir)
    );
}

both_dbs!(
    a_later_cube_reads_its_segments_from_disk_and_never_a_damaged_or_stale_one,
    |app| {
        let dir = app.db.data_dir().join("cube");
        let sample = costs_fixture_sample();
        let out = app.cli(&["import-costs", sample.to_str().unwrap()]);
        assert!(out.contains("imported"), "{out}");
        let fin = app.client_as(Role::Finance).await;
        let r = app
            .call(
                &fin,
                "/api/cost_report",
                &[("query[from]", "2024-09-01"), ("query[to]", "2024-09-30")],
            )
            .await;
        assert!(r.status().is_success());
        let files = files_become(&dir, 1, &[]).await;
        let db = &app.state().app.db;
        let (rows, bytes) = app.state().app.cost_cube.size();
        assert!(rows > 0 && bytes > rows * 16, "{rows} rows, {bytes} bytes");

        // A cube that starts now (a restarted server) reads the same segment from its file:
        // with the rollup rows gone from the database (behind the app's back, no new
        // revision), it still holds them; a cube without files finds none.
        let before = app.state().app.cost_cube.snapshot(db).await.unwrap();
        let year = Buckets::single(
            time::macros::date!(2023 - 10 - 01),
            time::macros::date!(2024 - 10 - 01),
        );
        assert!(!before
            .sums(
                &year,
                "USD",
                Metric::Billed,
                Group::Dim(Dim::Service),
                &Filters::default()
            )
            .unwrap()
            .is_empty());
        let wipe = "DELETE FROM cost_daily";
        sqlx::query(wipe).execute(db.pool()).await.unwrap();
        sqlx::query("DELETE FROM cost_daily_tags")
            .execute(db.pool())
            .await
            .unwrap();
        let later = Cube::with_dir(dir.clone());
        let snap = later.snapshot(db).await.unwrap();
        assert_eq!(later.size().0, rows, "all of it, from the file");
        assert_eq!(snap.choices, before.choices);
        for group in [Group::Dim(Dim::Service), Group::Tag("environment")] {
            for metric in [Metric::Billed, Metric::Effective, Metric::List] {
                assert_eq!(
                    snap.sums(&year, "USD", metric, group, &Filters::default())
                        .unwrap(),
                    before
                        .sums(&year, "USD", metric, group, &Filters::default())
                        .unwrap(),
                    "exactly the same sums"
                );
            }
        }
        let plain = Cube::new();
        plain.snapshot(db).await.unwrap();
        assert_eq!(plain.size().0, 0);

        // A damaged file is refused, removed and replaced by what the database holds.
        let mut bytes_on_disk = std::fs::read(&files[0]).unwrap();
        let mid = bytes_on_disk.len() / 2;
        bytes_on_disk[mid] ^= 1;
        std::fs::write(&files[0], &bytes_on_disk).unwrap();
        let fresh = Cube::with_dir(dir.clone());
        fresh.snapshot(db).await.unwrap();
        assert_eq!(
            fresh.size().0,
            0,
            "from the (emptied) database, not the file"
        );
        let rewritten = files_become(&dir, 1, &[]).await;
        let again = std::fs::read(&rewritten[0]).unwrap();
        assert_ne!(again, bytes_on_disk, "the damaged file was replaced");

        // A newer file for the same billing periods replaces the batch: its file goes, the
        // new batch's comes.
        let text = std::fs::read_to_string(&sample).unwrap();
        assert!(!text.contains('\r'));
        let newer = app.db.data_dir().join("newer.csv");
        std::fs::write(&newer, text.replace('\n', "\r\n")).unwrap();
        let out = app.cli(&["import-costs", newer.to_str().unwrap()]);
        assert!(out.contains("imported"), "{out}");
        app.state().app.cost_cube.snapshot(db).await.unwrap();
        let now = files_become(&dir, 1, &rewritten).await;
        assert_ne!(now, rewritten, "the replaced batch's file was removed");
    }
);
