"""Operations that change data: each applies the domain rules, writes its audit event
and leaves the commit to the caller's unit of work."""
