"""Reports: briefing packs for meetings (HTML and PDF), their charts and heat map."""
