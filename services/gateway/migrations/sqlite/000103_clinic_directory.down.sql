DROP TABLE dir_hospitals;
DROP TABLE dir_clinician_tins;
DROP TABLE dir_groups;
