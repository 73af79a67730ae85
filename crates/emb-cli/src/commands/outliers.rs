//! `emb outliers`: the items least like their neighbours.

use anyhow::Result;
use emb::analysis::OutlierSettings;
use emb::OutlierMethod;

use crate::cli::{OutlierArg, OutliersArgs};
use crate::output::Printer;

pub fn run(arguments: &OutliersArgs) -> Result<()> {
    let database = super::open_database(&arguments.database)?;
    let settings = OutlierSettings {
        k: arguments.k,
        method: match arguments.method {
            OutlierArg::Knn => OutlierMethod::Distance,
            OutlierArg::Lof => OutlierMethod::LocalOutlierFactor,
        },
    };
    let mut outliers = database.outliers(&arguments.collection, &settings)?;
    outliers.truncate(arguments.number);
    let mut printer = Printer::new();
    for outlier in &outliers {
        printer.json(outlier)?;
    }
    printer.finish()?;
    Ok(())
}
