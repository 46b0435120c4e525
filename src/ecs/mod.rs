//! The seam to Amazon ECS.
