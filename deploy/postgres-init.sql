-- One database per service: a service owns its data (architecture rule 1).
CREATE DATABASE identity;
CREATE DATABASE repairs;
CREATE DATABASE votes;
CREATE DATABASE notices;
CREATE DATABASE billing;
