//! Evidence: files and links that show a control works, stored content-addressed, versioned,
//! each with the date it speaks for.
