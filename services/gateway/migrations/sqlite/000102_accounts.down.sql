DROP TABLE patients;
DROP TABLE clinic_entities;
DROP TABLE phi_grants;
DROP TABLE api_tokens;
DROP TABLE accounts;
