-- `otp-tui check`: proves scripts run, and says the server's time and version.
return {num(clock()), redis.REDIS_VERSION or '?'}
