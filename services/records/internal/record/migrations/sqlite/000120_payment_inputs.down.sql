DROP TABLE payment_inputs;
