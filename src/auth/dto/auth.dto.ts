import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { MAX_PASSWORD_LENGTH } from '../../users/passwords.js';

export class LoginDto {
  @ApiProperty({ example: 'alice' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  username: string;

  @ApiProperty({ format: 'password' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_PASSWORD_LENGTH)
  password: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from login or the previous refresh' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  refreshToken: string;
}

export class LogoutDto {
  @ApiPropertyOptional({
    description: 'Ends the session of this refresh token (else the session of the access token)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  refreshToken?: string;
}

export class TokenPairDto {
  @ApiProperty({ description: 'Access JWT for `Authorization: Bearer`' })
  accessToken: string;

  @ApiProperty({ example: 'Bearer' })
  tokenType: string;

  @ApiProperty({ description: 'Access token lifetime in seconds' })
  expiresIn: number;

  @ApiProperty({ description: 'Single-use refresh token; each refresh returns a new one' })
  refreshToken: string;

  @ApiProperty({ description: 'Refresh token lifetime in seconds' })
  refreshExpiresIn: number;
}
