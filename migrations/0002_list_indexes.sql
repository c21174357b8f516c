-- Indexes for the project lists (found by bench/run; see bench/README.md).
--
-- ListProjects sorted by name (React Admin's list, GraphQL `projects(orderBy: {field: NAME})`)
-- runs `ORDER BY p.name ASC NULLS FIRST, p.id` (DESC: `p.name DESC NULLS LAST, p.id`), often with
-- `p.status = $1`. A b-tree index is `NULLS LAST` in ascending order unless told otherwise, so the
-- NULLS clauses must match the query's or the index cannot give the order. Without these
-- PostgreSQL read, joined and sorted all projects for every page (2.5–3.5 ms at 10,000 projects,
-- also in the generic plan of the prepared statement); with them it reads just the rows of the
-- page, in order (0.1 ms). At 32 connections REST list went from 358 to 895 req/s and GraphQL
-- `projects(first: 20)` from 357 to 938 req/s.
CREATE INDEX projects_name_idx ON projects (name NULLS FIRST, id);
CREATE INDEX projects_name_desc_idx ON projects (name DESC NULLS LAST, id);
CREATE INDEX projects_status_name_idx ON projects (status, name NULLS FIRST, id);
