import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageMetaDto, PageQueryDto } from '../../common/page.dto.js';
import { NameProperty, UserDto } from '../../users/dto/users.dto.js';
import {
  ORG_ROLES,
  type OrganizationEntity,
  type OrgRole,
  type TeamEntity,
} from '../org.entities.js';

export class CreateOrgDto {
  @NameProperty('Organization name; also its namespace (shared with user names)')
  name: string;

  @ApiPropertyOptional({ maxLength: 128 })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  displayName?: string;

  @ApiPropertyOptional({ maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;
}

export class UpdateOrgDto {
  @ApiPropertyOptional({ type: String, maxLength: 128, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  displayName?: string | null;

  @ApiPropertyOptional({ type: String, maxLength: 1024, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string | null;
}

export class OrgDto {
  @ApiProperty({ example: 'acme' })
  name: string;

  @ApiProperty({ nullable: true, type: String })
  displayName: string | null;

  @ApiProperty({ nullable: true, type: String })
  description: string | null;

  @ApiProperty()
  createdAt: Date;

  @ApiPropertyOptional({
    enum: ORG_ROLES,
    nullable: true,
    description: "The caller's role, when signed in",
  })
  role?: OrgRole | null;

  static of(o: OrganizationEntity, role?: OrgRole | null): OrgDto {
    return {
      name: o.name,
      displayName: o.displayName,
      description: o.description,
      createdAt: o.createdAt,
      ...(role !== undefined ? { role } : {}),
    };
  }
}

export class OrgListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Part of the name or display name', maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  q?: string;
}

export class OrgPageDto extends PageMetaDto {
  @ApiProperty({ type: [OrgDto], description: "In name order, each with the caller's role" })
  items: OrgDto[];
}

export class AddMemberDto {
  @NameProperty('User to add')
  username: string;

  @ApiPropertyOptional({ enum: ORG_ROLES, default: 'member' })
  @IsOptional()
  @IsIn(ORG_ROLES)
  role?: OrgRole;
}

export class UpdateMemberDto {
  @ApiProperty({ enum: ORG_ROLES })
  @IsIn(ORG_ROLES)
  role: OrgRole;
}

export class MemberDto {
  @ApiProperty({ type: UserDto })
  user: UserDto;

  @ApiProperty({ enum: ORG_ROLES })
  role: OrgRole;

  @ApiProperty()
  since: Date;
}

const CREATORS =
  'Repository creators: members of the team may create repositories in the organization (by ' +
  'pushing or through the API) and get admin on the repositories they create';

export class CreateTeamDto {
  @NameProperty('Team name, unique within the organization')
  name: string;

  @ApiPropertyOptional({ maxLength: 1024 })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string;

  @ApiPropertyOptional({ description: CREATORS, default: false })
  @IsOptional()
  @IsBoolean()
  canCreateRepositories?: boolean;
}

export class UpdateTeamDto {
  @ApiPropertyOptional({ type: String, maxLength: 1024, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  description?: string | null;

  @ApiPropertyOptional({ description: CREATORS })
  @IsOptional()
  @IsBoolean()
  canCreateRepositories?: boolean;
}

export class TeamDto {
  @ApiProperty({ example: 'developers' })
  name: string;

  @ApiProperty({ example: 'acme' })
  organization: string;

  @ApiProperty({ nullable: true, type: String })
  description: string | null;

  @ApiProperty()
  members: number;

  @ApiProperty({ description: CREATORS })
  canCreateRepositories: boolean;

  @ApiProperty()
  createdAt: Date;

  static of(t: TeamEntity, organization: string, members: number): TeamDto {
    return {
      name: t.name,
      organization,
      description: t.description,
      members,
      canCreateRepositories: t.canCreateRepositories,
      createdAt: t.createdAt,
    };
  }
}
