DROP TABLE encounters;
DROP TABLE patients;
