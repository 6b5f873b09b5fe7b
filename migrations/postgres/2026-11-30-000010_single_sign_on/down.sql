DROP TABLE sign_ins;
DROP TABLE user_identities;
