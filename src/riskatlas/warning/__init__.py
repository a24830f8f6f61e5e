"""Early warning: events from ACLED, UCDP GED, GDELT and field reports, indicators tied to
catalog risks, detectors over their series, alerts and the backtest."""
