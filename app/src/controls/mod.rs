//! Frameworks, their requirements, the organisation's controls, mappings between them
//! ("test once, comply many") and each control's derived status.
