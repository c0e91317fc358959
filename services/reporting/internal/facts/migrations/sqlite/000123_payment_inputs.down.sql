DROP TABLE report_payment_inputs;
