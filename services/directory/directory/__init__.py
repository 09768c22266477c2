"""The directory service: partner restaurants (提携飲食店) and where families can eat."""
