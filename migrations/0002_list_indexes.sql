-- Indexes for the project lists (found by bench/run; see bench/README.md).
--
-- ListProjects sorts by name (React Admin's default list, GraphQL `projects(orderBy: NAME)`)
-- with `p.id` as the tie-break, optionally filtered by status. Without an index PostgreSQL reads
-- and sorts every project for each page (3.4 ms at 10,000 projects); with these it reads the 20
-- rows of the page in order (0.2 ms).
CREATE INDEX projects_name_idx ON projects (name, id);
CREATE INDEX projects_status_name_idx ON projects (status, name, id);
