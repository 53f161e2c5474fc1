"""Operations over every inventory host's compiled catalog: who reads each secret, its audit, and the admin's edits."""
