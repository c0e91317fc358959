DROP TABLE report_yesno_version;
