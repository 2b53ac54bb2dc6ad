// The adapter is assembled module by module (see the commits that follow); nothing is exported yet.
export {};
