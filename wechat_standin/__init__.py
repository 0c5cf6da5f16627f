"""Local stand-in of the WeChat server API; see wechat_standin.app for what it serves."""
